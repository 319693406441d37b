"""Phoenix: a service framework for OpenStack-style Python services."""
