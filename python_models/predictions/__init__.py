"""Churn risk, lifetime value and next-best products: features in DuckDB SQL, models in Python.

`features` builds point-in-time features for any cutoffs; `churn`, `clv` and
`recommendations` are the models; `evaluation` and `drift` measure them; `pipeline` and
`byod` are the I/O shells the Dagster assets, benchmarks and CLI call.
"""
