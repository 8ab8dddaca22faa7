"""gridflow deploy."""
