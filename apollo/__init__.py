"""Apollo: the reference service built on the Phoenix framework."""
