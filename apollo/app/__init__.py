"""HTTP side of apollo: the router, controllers and paste filters."""
