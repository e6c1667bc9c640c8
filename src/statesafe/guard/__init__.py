"""The runtime guard (being written: see issue 4)."""
