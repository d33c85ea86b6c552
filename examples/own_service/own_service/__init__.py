"""A tiny streaming service of someone else's: its own route, its own event format."""
