"""gridflow projections."""
