"""Privacy and governance: erasure, tombstones, verification, access requests, audit.

Plain functions on a DuckDB connection and values handed in by the caller (the HMAC key,
the request, the run id); the CLI (`orchestration/cli/privacy.py`) and the Dagster assets
(`orchestration/defs/privacy/`) read the settings and call them.
"""
