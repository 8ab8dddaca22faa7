"""gridflow streams."""
