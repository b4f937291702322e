"""Identity resolution: turn person-bearing source records into stable customer keys.

`resolve.resolve_identities` is the entry point: deterministic links in DuckDB SQL
(`deterministic`), fuzzy links from `matching`, over-merge guards (`guards`), connected
components and stable key assignment (`keys`), and one transactional write of the
`identity.*` tables (`store`). `evaluate` scores the graph against generated ground truth.
"""
