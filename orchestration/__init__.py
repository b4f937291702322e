"""The Dagster project: one `Definitions`, loaded from `orchestration/defs/`."""
