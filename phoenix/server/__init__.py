"""The process side of a phoenix service: configuration, workers, signals."""
