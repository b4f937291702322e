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
`dq_score` is the mean of the dimensions that apply. Each load is scored once, when it arrives
(history does not move), from its stored profile (`profiles.py`); all of a run's new loads of a
table are scored together, so the cost follows the new files, not the warehouse.

Beside the per-load rows, `dq.dq_source_freshness` holds one verdict per source table (pass,
warn, error) by the raw contract's one definition of freshness (`contract.spec.Freshness`:
the age of the table's newest event at the run's as_of), the same figure and thresholds
`dbt source freshness` reads from the generated source yml; it is rewritten on every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import duckdb
import pandas as pd

from python_models.contract import RawTable
from python_models.contract.spec import FUTURE_TOLERANCE_HOURS
from python_models.quality.evaluate import CROSS_SOURCE_KINDS, RuleResult, cross_source_results
from python_models.quality.profiles import DQ_SCHEMA, loads_rows_sql, refresh_profiles
from python_models.quality.quarantine import QUARANTINE_SCHEMA, RAW_SCHEMA, relation_exists
from python_models.quality.rules import REGISTRY, table_rules
from python_models.quality.sql import parse_timestamp_sql, quote_ident, quote_literal

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


def freshness_reference(loaded_at: datetime, as_of: datetime | None) -> datetime:
    """The moment freshness is measured at: the load time, capped at an explicit as-of."""
    return min(loaded_at, as_of) if as_of is not None else loaded_at


def parse_as_of(value: str | None) -> datetime | None:
    """An ISO timestamp (with or without offset) as naive UTC; None stays None."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def quarantine_counts_sql(table: str, load_ids: Sequence[str]) -> str:
    """Per load: unreleased quarantine rows, and those the extract could not parse (they never
    reached raw; they were read, and they are not valid)."""
    ids = ", ".join(quote_literal(i) for i in load_ids)
    return f"""
        select q._load_id, count(*), count(*) filter (where r._row_number is null)
        from {QUARANTINE_SCHEMA}.{quote_ident(table)} as q
        left join (select _load_id, _row_number from ({loads_rows_sql(table, load_ids)})) as r
            on r._load_id = q._load_id and r._row_number = q._row_number
        where q._load_id in ({ids}) and q.released_at is null
        group by q._load_id
    """


def score_loads(
    con: duckdb.DuckDBPyConnection,
    table: str,
    load_ids: Sequence[str],
    computed_at: datetime,
    as_of: datetime | None = None,
) -> list[dict]:
    """The scorecard rows of `load_ids` of raw.<table>, from their stored profiles: a fixed
    number of queries per table, however many loads."""
    if not load_ids:
        return []
    spec = table_rules(table)
    ids = list(load_ids)
    marks = ", ".join("?" for _ in ids)
    profiles = {
        row[0]: row[1:]
        for row in con.execute(
            f"select load_id, loaded_at, rows_read, invalid_rows, key_filled_rows, "
            f"distinct_keys, newest_event_at from {DQ_SCHEMA}.dq_load_profiles "
            f"where source = ? and load_id in ({marks})",
            [table, *ids],
        ).fetchall()
    }
    filled = dict(
        con.execute(
            f"select load_id, sum(filled_rows) from {DQ_SCHEMA}.dq_load_attribute_fill "
            f"where source = ? and load_id in ({marks}) group by load_id",
            [table, *ids],
        ).fetchall()
    )
    quarantined = {}
    if relation_exists(con, QUARANTINE_SCHEMA, table):
        counts = con.execute(quarantine_counts_sql(table, ids)).fetchall()
        quarantined = {load: (n, lost) for load, n, lost in counts}
    cross_rules = [r for r in spec.table_rules() if r.kind in CROSS_SOURCE_KINDS]
    cross = cross_source_results(con, spec, cross_rules, ids, loads_rows_sql(table, ids))
    return [
        score_row(
            spec,
            load_id,
            profiles[load_id],
            filled.get(load_id, 0),
            quarantined.get(load_id, (0, 0)),
            cross[load_id],
            computed_at,
            as_of,
        )
        for load_id in ids
    ]


def score_row(
    spec: RawTable,
    load_id: str,
    profile: tuple,
    filled: int,
    quarantine: tuple[int, int],
    cross: list[RuleResult],
    computed_at: datetime,
    as_of: datetime | None,
) -> dict:
    """One scorecard row from a load's profile, quarantine counts and cross-source results."""
    loaded_at, rows_read, invalid, key_filled, distinct_keys, newest = profile
    quarantined, never_in_raw = quarantine
    attributes = len(spec.key_attributes)
    completeness = filled / (attributes * rows_read) if attributes and rows_read else None
    validity = 1 - invalid / rows_read if rows_read else None
    uniqueness = distinct_keys / key_filled if key_filled else None
    if never_in_raw and validity is not None:
        validity = validity * rows_read / (rows_read + never_in_raw)
        rows_read += never_in_raw
    checked = [r for r in cross if r.family == "consistency" and r.rows_checked > 0]
    consistency = sum(1 - r.failing_share for r in checked) / len(checked) if checked else None
    lag_hours = None
    if newest and loaded_at:
        lag = (freshness_reference(loaded_at, as_of) - newest).total_seconds() / 3600
        lag_hours = max(lag, 0.0)
    dims = {
        "completeness": completeness,
        "validity": validity,
        "consistency": consistency,
        "uniqueness": uniqueness,
        "timeliness": timeliness_score(lag_hours, spec.freshness_sla_hours),
    }
    return {
        "source": spec.table,
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
    """Profiled loads of `table` without a scorecard row, oldest first."""
    return [
        row[0]
        for row in con.execute(
            f"select load_id from {DQ_SCHEMA}.dq_load_profiles p where source = ? "
            f"and not exists (select 1 from {DQ_SCHEMA}.dq_scorecard s "
            f"where s.source = p.source and s.load_id = p.load_id) order by loaded_at, load_id",
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

    New loads are profiled first (`profiles.refresh_profiles`), so a run reads only the row
    groups of the files it loaded. `as_of`, when given (an ISO timestamp, as when replaying an
    old snapshot), caps the freshness clock; otherwise freshness is measured at each load's time.
    With `as_of`, `dq.dq_source_freshness` is rewritten with each source's verdict at that
    moment.
    """
    con.execute(f"create schema if not exists {DQ_SCHEMA}")
    con.execute(SCORECARD_DDL)
    chosen = [t for t in tables or list(REGISTRY) if relation_exists(con, RAW_SCHEMA, t)]
    if rebuild:
        for table in chosen:
            con.execute(f"delete from {DQ_SCHEMA}.dq_scorecard where source = ?", [table])
    refresh_profiles(con, chosen)
    computed_at = datetime.now(UTC).replace(tzinfo=None)
    as_of_time = parse_as_of(as_of)
    rows = [
        row
        for table in chosen
        for row in score_loads(con, table, unscored_loads(con, table), computed_at, as_of_time)
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
        if freshness is None or not spec.freshness_checked:
            continue  # as in the generated source yml: no verdict
        if not relation_exists(con, RAW_SCHEMA, table):
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
