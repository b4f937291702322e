"""Test-only helpers: builders of small, readable fixtures shaped like the pipeline's tables."""
