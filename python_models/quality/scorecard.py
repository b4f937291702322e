"""The data-quality scorecard: one row per source table and load, five dimensions in [0, 1].

- completeness: mean share of the table's key attributes that are filled;
- validity: share of rows passing every format, accepted-value and range rule;
- consistency: mean over the table's cross-source rules of (1 − share of rows in conflict),
  e.g. the same email with a different birth date in another source, or an order whose customer
  is unknown everywhere (NULL when the table has no such rule or no other source is loaded);
- uniqueness: 1 − duplicate share of the natural key within the load;
- timeliness: 1 when the load's freshness lag (load time − newest event time in it) is within the
  source's SLA, else SLA / lag (NULL for tables without an event time). "Load time" is capped
  at the run's as_of (the pipeline always passes it), so the scorecard judges freshness by the
  same clock as the rules and the models: a back-fill or the demo sample (a snapshot as of its
  as-of date) is judged as of that date, not as of the day it was replayed.
`dq_score` is the mean of the dimensions that apply. Scores are computed in DuckDB, one scan per
load, and only for loads not scored yet (history does not move).

Beside the per-load rows, `dq.dq_source_freshness` holds one verdict per source table (pass,
warn, error) by the raw contract's one definition of freshness (`contract.spec.Freshness`:
the age of the table's newest event at the run's as_of), the same figure and thresholds
`dbt source freshness` reads from the generated source yml; it is rewritten on every run.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd

from python_models.contract import RawTable
from python_models.contract.spec import FUTURE_TOLERANCE_HOURS
from python_models.quality.evaluate import evaluate_load
from python_models.quality.quarantine import (
    QUARANTINE_SCHEMA,
    RAW_SCHEMA,
    load_rows_sql,
    relation_exists,
)
from python_models.quality.rules import REGISTRY, table_rules
from python_models.quality.sql import failure_predicate, parse_timestamp_sql, quote_ident

DQ_SCHEMA = "dq"
VALIDITY_FAMILIES = ("format", "accepted_values", "range")
DIMENSIONS = ("completeness", "validity", "consistency", "uniqueness", "timeliness")
SCORECARD_COLUMNS = (
    "source", "load_id", "loaded_at", "rows_read", "rows_quarantined", "completeness",
    "validity", "consistency", "uniqueness", "timeliness", "freshness_lag_hours",
    "freshness_sla_hours", "dq_score", "computed_at",
)  # fmt: skip
SCORECARD_DDL = f"""
create table if not exists {DQ_SCHEMA}.dq_scorecard (
    source varchar, load_id varchar, loaded_at timestamp, rows_read bigint,
    rows_quarantined bigint, completeness double, validity double, consistency double,
    uniqueness double, timeliness double, freshness_lag_hours double,
    freshness_sla_hours double, dq_score double, computed_at timestamp
)
"""


def timeliness_score(lag_hours: float | None, sla_hours: float) -> float | None:
    """1 within the SLA, then SLA / lag: a load twice as late as allowed scores 0.5."""
    if lag_hours is None:
        return None
    if lag_hours <= sla_hours:
        return 1.0
    return sla_hours / lag_hours


def overall_score(dimensions: dict[str, float | None]) -> float | None:
    values = [v for v in dimensions.values() if v is not None]
    return sum(values) / len(values) if values else None


def load_profile_sql(spec: RawTable, source_sql: str) -> str:
    """One row: rows, loaded_at, completeness, validity, uniqueness and newest event time."""
    filled = [
        f"count(*) filter (where nullif(trim({quote_ident(c)}), '') is not null)"
        for c in spec.key_attributes
    ]
    completeness = (
        f"({' + '.join(filled)}) / ({len(filled)} * count(*))::double" if filled else "null"
    )
    validity_rules = [r for r in spec.row_rules() if r.family in VALIDITY_FAMILIES]
    any_invalid = " or ".join(failure_predicate(r) for r in validity_rules) or "false"
    key = ", ".join(f"trim({quote_ident(c)})" for c in spec.natural_key)
    key_filled = " and ".join(
        f"nullif(trim({quote_ident(c)}), '') is not null" for c in spec.natural_key
    )
    event_time = (
        # events after "now" (the run's as_of, else the load time) are the future-date
        # rule's business, not freshness
        "max(_event_ts) filter (where _event_ts <= "
        "coalesce(try_cast(getvariable('customer360_as_of') as timestamp), _loaded_at) "
        f"+ interval {FUTURE_TOLERANCE_HOURS} hour)"
        if spec.event_time_column
        else "null::timestamp"
    )
    event_ts = (
        f", {parse_timestamp_sql('r.' + quote_ident(spec.event_time_column))} as _event_ts"
        if spec.event_time_column
        else ""
    )
    return f"""
        with rows as (
            select r.*, ({any_invalid}) as _invalid, ({key_filled}) as _key_filled{event_ts}
            from ({source_sql}) as r
        )
        select
            count(*) as rows_read,
            max(_loaded_at) as loaded_at,
            {completeness} as completeness,
            1 - count(*) filter (where _invalid) / count(*)::double as validity,
            case when count(*) filter (where _key_filled) = 0 then null
                else count(distinct ({key})) filter (where _key_filled)
                    / (count(*) filter (where _key_filled))::double end as uniqueness,
            {event_time} as newest_event_at
        from rows
    """


def freshness_reference(loaded_at: datetime, as_of: datetime | None) -> datetime:
    """The moment freshness is measured at: the load time, capped at an explicit as-of."""
    return min(loaded_at, as_of) if as_of is not None else loaded_at


def parse_as_of(value: str | None) -> datetime | None:
    """An ISO timestamp (with or without offset) as naive UTC; None stays None."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def score_load(
    con: duckdb.DuckDBPyConnection,
    table: str,
    load_id: str,
    computed_at: datetime,
    as_of: datetime | None = None,
) -> dict:
    """The scorecard row of one load of raw.<table>."""
    spec = table_rules(table)
    source_sql = load_rows_sql(table, load_id)
    rows_read, loaded_at, completeness, validity, uniqueness, newest = con.execute(
        load_profile_sql(spec, source_sql)
    ).fetchall()[0]
    quarantined = never_in_raw = 0
    if relation_exists(con, QUARANTINE_SCHEMA, table):
        # Lines the extract could not parse are quarantined without reaching raw; they were
        # read, and they are not valid.
        quarantined, never_in_raw = con.execute(
            f"select count(*), count(*) filter (where _row_number not in "
            f"(select _row_number from ({source_sql}))) "
            f"from {QUARANTINE_SCHEMA}.{quote_ident(table)} "
            "where _load_id = ? and released_at is null",
            [load_id],
        ).fetchall()[0]
    if never_in_raw and validity is not None:
        validity = validity * rows_read / (rows_read + never_in_raw)
        rows_read += never_in_raw
    consistency_results = [
        r for r in evaluate_load(con, table, load_id, kinds_only=("exists_in_sources",
                                                                   "agrees_across_sources"))
        if r.family == "consistency" and r.rows_checked > 0
    ]  # fmt: skip
    consistency = (
        sum(1 - r.failing_share for r in consistency_results) / len(consistency_results)
        if consistency_results
        else None
    )
    lag_hours = None
    if newest and loaded_at:
        lag_hours = (freshness_reference(loaded_at, as_of) - newest).total_seconds() / 3600
    if lag_hours is not None:
        lag_hours = max(lag_hours, 0.0)
    dims = {
        "completeness": completeness,
        "validity": validity,
        "consistency": consistency,
        "uniqueness": uniqueness,
        "timeliness": timeliness_score(lag_hours, spec.freshness_sla_hours),
    }
    return {
        "source": table,
        "load_id": load_id,
        "loaded_at": loaded_at,
        "rows_read": int(rows_read),
        "rows_quarantined": int(quarantined),
        **dims,
        "freshness_lag_hours": lag_hours,
        "freshness_sla_hours": spec.freshness_sla_hours,
        "dq_score": overall_score(dims),
        "computed_at": computed_at,
    }


def unscored_loads(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            f"select _load_id from {RAW_SCHEMA}.{quote_ident(table)} "
            f"where _load_id not in (select load_id from {DQ_SCHEMA}.dq_scorecard "
            f"where source = ?) group by _load_id order by max(_loaded_at), _load_id",
            [table],
        ).fetchall()
    ]


def update_scorecard(
    con: duckdb.DuckDBPyConnection,
    tables: list[str] | None = None,
    rebuild: bool = False,
    as_of: str | None = None,
) -> pd.DataFrame:
    """Score every load not yet in `dq.dq_scorecard` (all loads when `rebuild`); return new rows.

    `as_of`, when given (an ISO timestamp, as when replaying an old snapshot), caps the
    freshness clock; otherwise freshness is measured at each load's time. With `as_of`,
    `dq.dq_source_freshness` is rewritten with each source's verdict at that moment.
    """
    con.execute(f"create schema if not exists {DQ_SCHEMA}")
    con.execute(SCORECARD_DDL)
    computed_at = datetime.now(UTC).replace(tzinfo=None)
    as_of_time = parse_as_of(as_of)
    rows = []
    for table in tables or list(REGISTRY):
        if not relation_exists(con, RAW_SCHEMA, table):
            continue
        if rebuild:
            con.execute(f"delete from {DQ_SCHEMA}.dq_scorecard where source = ?", [table])
        rows += [
            score_load(con, table, load, computed_at, as_of_time)
            for load in unscored_loads(con, table)
        ]
    frame = pd.DataFrame(rows, columns=list(SCORECARD_COLUMNS))
    if not frame.empty:
        con.register("new_scorecard_rows", frame)
        con.execute(
            f"insert into {DQ_SCHEMA}.dq_scorecard by name select * from new_scorecard_rows"
        )
        con.unregister("new_scorecard_rows")
    if as_of_time is not None:
        write_source_freshness(con, source_freshness(con, as_of_time))
    return frame


SOURCE_FRESHNESS_COLUMNS = (
    "source", "event_time_column", "newest_event_at", "as_of", "age_hours", "warn_after_hours",
    "error_after_hours", "status", "computed_at",
)  # fmt: skip


def newest_event_sql(spec: RawTable, as_of: datetime) -> str:
    """The newest event time in raw.<table> at most FUTURE_TOLERANCE_HOURS after `as_of`: the
    same query as dbt's `newest_event_at` macro (dbt_project/macros/freshness.sql)."""
    assert spec.event_time_column is not None
    event_at = parse_timestamp_sql(quote_ident(spec.event_time_column))
    return (
        f"select max(event_at) from (select {event_at} as event_at "
        f"from {RAW_SCHEMA}.{quote_ident(spec.table)}) as events "
        f"where event_at <= timestamp '{as_of.isoformat(sep=' ')}' "
        f"+ interval {FUTURE_TOLERANCE_HOURS} hour"
    )


def source_freshness(con: duckdb.DuckDBPyConnection, as_of: datetime) -> pd.DataFrame:
    """One row per loaded raw table with an event time: its newest event, its age at `as_of`
    in hours and the contract's verdict (pass, warn or error), as dbt source freshness
    judges it."""
    computed_at = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for table, spec in REGISTRY.items():
        freshness = spec.freshness
        if freshness is None or not relation_exists(con, RAW_SCHEMA, table):
            continue
        [(newest,)] = con.execute(newest_event_sql(spec, as_of)).fetchall()
        age = (as_of - newest).total_seconds() / 3600 if newest is not None else None
        rows.append(
            {
                "source": table,
                "event_time_column": freshness.event_time_column,
                "newest_event_at": newest,
                "as_of": as_of,
                "age_hours": age,
                "warn_after_hours": freshness.warn_after_hours,
                "error_after_hours": freshness.error_after_hours,
                "status": freshness.verdict(age),
                "computed_at": computed_at,
            }
        )
    return pd.DataFrame(rows, columns=list(SOURCE_FRESHNESS_COLUMNS))


def write_source_freshness(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> None:
    """Replace `dq.dq_source_freshness` with `frame` (the verdicts of this run's as_of)."""
    con.execute(f"create schema if not exists {DQ_SCHEMA}")
    con.register("source_freshness_rows", frame)
    con.execute(
        f"create or replace table {DQ_SCHEMA}.dq_source_freshness as "
        "select source::varchar as source, event_time_column::varchar as event_time_column, "
        "newest_event_at::timestamp as newest_event_at, as_of::timestamp as as_of, "
        "age_hours::double as age_hours, warn_after_hours::integer as warn_after_hours, "
        "error_after_hours::integer as error_after_hours, status::varchar as status, "
        "computed_at::timestamp as computed_at from source_freshness_rows"
    )
    con.unregister("source_freshness_rows")


def read_scorecard(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        f"select * from {DQ_SCHEMA}.dq_scorecard order by source, loaded_at, load_id"
    ).df()
