"""gridflow events."""
