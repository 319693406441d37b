"""Non-HTTP parts of apollo: the periodic-task manager."""
