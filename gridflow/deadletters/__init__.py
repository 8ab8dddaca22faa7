"""`gridflow deadletters`: list, show and re-drive the dead-letter topic (docs/operations.md, "Dead letters")."""
