"""pytest plugin entry point for the guard (being written: see issue 4)."""
