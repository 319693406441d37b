CREATE INDEX state_k ON state (k);
