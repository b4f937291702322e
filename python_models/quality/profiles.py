"""Per-load profiles: the counts the scorecard and the volume anomalies need, taken once per load.

A load (one landing file) is profiled the first time a data-quality run sees it: rows, rows
failing a validity rule, filled natural keys and their distinct count, the newest event time,
and how many rows fill each key attribute. All new loads of a table are profiled in one DuckDB
scan that reads only their row groups, so a run costs what its new files cost, not what the
warehouse holds (decision 0003). Profiles live in `dq.dq_load_profiles` and
`dq.dq_load_attribute_fill`.

A profile stays valid while its load keeps the same rows in raw. When rows leave a load
(an erasure, a retention purge) or a load leaves raw, its profile is taken again or dropped, so
the anomalies' history always describes what raw holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from python_models.contract import RawTable
from python_models.contract.spec import FUTURE_TOLERANCE_HOURS
from python_models.quality.quarantine import RAW_SCHEMA, relation_exists
from python_models.quality.rules import REGISTRY, table_rules
from python_models.quality.sql import (
    failure_predicate,
    parse_timestamp_sql,
    quote_ident,
    quote_literal,
)

DQ_SCHEMA = "dq"
VALIDITY_FAMILIES = ("format", "accepted_values", "range")
PROFILES_DDL = f"""
create table if not exists {DQ_SCHEMA}.dq_load_profiles (
    source varchar, load_id varchar, loaded_at timestamp, rows_read bigint,
    invalid_rows bigint, key_filled_rows bigint, distinct_keys bigint,
    newest_event_at timestamp, computed_at timestamp
)
"""
FILL_DDL = f"""
create table if not exists {DQ_SCHEMA}.dq_load_attribute_fill (
    source varchar, load_id varchar, attribute varchar, filled_rows bigint
)
"""


@dataclass(frozen=True)
class ProfileRefresh:
    """What one refresh did to a table's profiles."""

    table: str
    profiled: tuple[str, ...]
    dropped: tuple[str, ...]


def loads_rows_sql(table: str, load_ids: Sequence[str]) -> str:
    """The raw rows of `load_ids`. A literal list, so DuckDB skips other loads' row groups."""
    ids = ", ".join(quote_literal(i) for i in load_ids) or "null"
    return f"select * from {RAW_SCHEMA}.{quote_ident(table)} where _load_id in ({ids})"


def filled_sql(column: str) -> str:
    return f"nullif(trim({quote_ident(column)}), '') is not null"


def profile_sql(spec: RawTable, load_ids: Sequence[str]) -> str:
    """One row per load of `load_ids`: the counts of `dq.dq_load_profiles`, plus one
    `filled__<attribute>` count per key attribute."""
    validity_rules = [r for r in spec.row_rules() if r.family in VALIDITY_FAMILIES]
    any_invalid = " or ".join(failure_predicate(r) for r in validity_rules) or "false"
    key = ", ".join(f"trim({quote_ident(c)})" for c in spec.natural_key)
    key_filled = " and ".join(filled_sql(c) for c in spec.natural_key)
    event_ts = (
        f", {parse_timestamp_sql('r.' + quote_ident(spec.event_time_column))} as _event_ts"
        if spec.event_time_column
        else ""
    )
    newest = (
        # events after "now" (the run's as_of, else the load time) are the future-date
        # rule's business, not freshness
        "max(_event_ts) filter (where _event_ts <= "
        "coalesce(try_cast(getvariable('customer360_as_of') as timestamp), _loaded_at) "
        f"+ interval {FUTURE_TOLERANCE_HOURS} hour)"
        if spec.event_time_column
        else "null::timestamp"
    )
    fills = "".join(
        f", count(*) filter (where {filled_sql(c)}) as {quote_ident('filled__' + c)}"
        for c in spec.key_attributes
    )
    return f"""
        with rows as (
            select r.*, ({any_invalid}) as _invalid, ({key_filled}) as _key_filled{event_ts}
            from ({loads_rows_sql(spec.table, load_ids)}) as r
        )
        select
            _load_id as load_id,
            max(_loaded_at) as loaded_at,
            count(*) as rows_read,
            count(*) filter (where _invalid) as invalid_rows,
            count(*) filter (where _key_filled) as key_filled_rows,
            count(distinct ({key})) filter (where _key_filled) as distinct_keys,
            {newest} as newest_event_at{fills}
        from rows
        group by _load_id
    """


def ensure_profile_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {DQ_SCHEMA}")
    con.execute(PROFILES_DDL)
    con.execute(FILL_DDL)


def stale_loads(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], list[str]]:
    """(loads to profile, profiled loads to drop): new loads and loads whose row count moved,
    then profiles of loads no longer in raw. One scan of raw's `_load_id` column."""
    rows = con.execute(
        f"""
        with present as (
            select _load_id as load_id, count(*) as n, max(_loaded_at) as loaded_at
            from {RAW_SCHEMA}.{quote_ident(table)} group by _load_id
        ),
        profiled as (select load_id, rows_read from {DQ_SCHEMA}.dq_load_profiles where source = ?)
        select coalesce(present.load_id, profiled.load_id), present.load_id is null,
               present.loaded_at
        from present full join profiled using (load_id)
        where profiled.load_id is null or present.load_id is null or present.n <> rows_read
        order by present.loaded_at, 1
        """,
        [table],
    ).fetchall()
    return [r[0] for r in rows if not r[1]], [r[0] for r in rows if r[1]]


def refresh_table_profiles(con: duckdb.DuckDBPyConnection, table: str) -> ProfileRefresh:
    """Profile the new (or changed) loads of raw.<table>; drop profiles of vanished loads."""
    spec = table_rules(table)
    to_profile, to_drop = stale_loads(con, table)
    replaced = to_profile + to_drop
    if not replaced:
        return ProfileRefresh(table, (), ())
    marks = ", ".join("?" for _ in replaced)
    con.execute("begin transaction")
    try:
        for target in ("dq_load_profiles", "dq_load_attribute_fill"):
            con.execute(
                f"delete from {DQ_SCHEMA}.{target} where source = ? and load_id in ({marks})",
                [table, *replaced],
            )
        if to_profile:
            con.execute(
                f"create or replace temp table _dq_profiled as {profile_sql(spec, to_profile)}"
            )
            con.execute(
                f"insert into {DQ_SCHEMA}.dq_load_profiles select ?, load_id, loaded_at, "
                "rows_read, invalid_rows, key_filled_rows, distinct_keys, newest_event_at, "
                "current_timestamp::timestamp from _dq_profiled",
                [table],
            )
            for column in spec.key_attributes:
                con.execute(
                    f"insert into {DQ_SCHEMA}.dq_load_attribute_fill select ?, load_id, ?, "
                    f"{quote_ident('filled__' + column)} from _dq_profiled",
                    [table, column],
                )
            con.execute("drop table _dq_profiled")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return ProfileRefresh(table, tuple(to_profile), tuple(to_drop))


def refresh_profiles(
    con: duckdb.DuckDBPyConnection, tables: Sequence[str] | None = None
) -> list[ProfileRefresh]:
    """`refresh_table_profiles` for every loaded raw table (or `tables`)."""
    ensure_profile_tables(con)
    return [
        refresh_table_profiles(con, table)
        for table in tables or list(REGISTRY)
        if relation_exists(con, RAW_SCHEMA, table)
    ]
