"""Activation: consent-safe audience exports for email tools, deltas, holdouts and uplift.

- `audiences`: the YAML audience definitions (`dbt_project/audiences/audiences.yml`), validated.
- `destinations`: what Mailchimp, Klaviyo and Braze import (headers, limits).
- `members`: the SQL that picks members, applies consent and suppression, checks values.
- `files`: DuckDB `COPY … TO` under temporary names, renamed when complete.
- `export`: one audience, one run: files, deltas, manifest, warehouse tables.
- `experiments`: deterministic holdout assignment and the uplift statistics.
"""
