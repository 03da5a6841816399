"""Developer tools kept out of the product wheel (run from the repository root)."""
