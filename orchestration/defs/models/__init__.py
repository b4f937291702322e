"""Python model assets: they read dbt's features and write back to the `models` schema."""
