"""Volume anomalies: a delivery whose row count or null rates break from the source's history.

A delivery is what one pipeline run loaded into a table (all its files, e.g. the chunks of a
big export, found through `audit.load_audit.run_id`; one load when there is no audit). For each
source and delivery: the row count and, for each key attribute, the null rate. Each metric is
compared with the previous `history` deliveries of that source by a robust z-score
((value − median) / (1.4826 · MAD)); |z| above `threshold` with at least `min_history` earlier
deliveries is a warning naming the source and the metric. The scale has a floor (5 % of the
median for counts, 0.01 for rates) so a perfectly steady history does not turn noise into
alarms. The counts come from the per-load profiles (`profiles.py`), taken once per load, so a
run reads only its new files; then one window per metric in DuckDB.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd

from python_models.quality.profiles import refresh_profiles
from python_models.quality.quarantine import relation_exists
from python_models.quality.rules import table_rules
from python_models.quality.sql import quote_ident, quote_literal

ANOMALY_COLUMNS = (
    "source", "load_id", "loaded_at", "metric", "value", "baseline_median", "robust_z",
    "history_loads", "message", "detected_at",
)  # fmt: skip


def per_delivery_metrics_sql(table: str, by_run: bool) -> str:
    """Long format: (delivery, load_id, loaded_at, files, metric, value) per delivery.

    Read from the stored per-load profiles (`profiles.py`), not from raw: the counts of a
    delivery are the sums over its loads. `load_id`/`loaded_at` are those of its last load.
    """
    spec = table_rules(table)
    source = quote_literal(table)
    fills = ", ".join(
        f"sum(filled_rows) filter (where attribute = {quote_literal(c)}) as {quote_ident(c)}"
        for c in spec.key_attributes
    )
    fill_join = (
        f"left join (select load_id, {fills} from dq.dq_load_attribute_fill "
        f"where source = {source} group by load_id) as f on f.load_id = p.load_id"
        if spec.key_attributes
        else ""
    )
    rates = "".join(
        f", (sum(p.rows_read) - coalesce(sum(f.{quote_ident(c)}), 0)) / sum(p.rows_read)::double"
        f" as {quote_ident('null_rate:' + c)}"
        for c in spec.key_attributes
    )
    runs = (
        "left join (select load_id, any_value(run_id) as run_id from audit.load_audit "
        "group by load_id) as a on a.load_id = p.load_id"
        if by_run
        else ""
    )
    delivery = "coalesce(a.run_id, p.load_id)" if by_run else "p.load_id"
    return (
        f"unpivot (select {delivery} as delivery, arg_max(p.load_id, p.loaded_at) as load_id, "
        f"max(p.loaded_at) as loaded_at, count(*) as files, "
        f"sum(p.rows_read)::double as row_count{rates} "
        f"from dq.dq_load_profiles as p {fill_join} {runs} "
        f"where p.source = {source} and p.rows_read > 0 group by all) "
        f"on columns(* exclude (delivery, load_id, loaded_at, files)) "
        f"into name metric value value"
    )


def volume_anomalies_sql(
    table: str,
    history: int = 14,
    min_history: int = 5,
    threshold: float = 3.5,
    by_run: bool = False,
) -> str:
    return f"""
        with metrics as ({per_delivery_metrics_sql(table, by_run)}),
        scored as (
            select *,
                median(value) over w as baseline_median,
                count(value) over w as history_loads,
                mad(value) over w as mad
            from metrics
            window w as (partition by metric order by loaded_at, load_id
                         rows between {int(history)} preceding and 1 preceding)
        ),
        with_z as (
            select *,
                (value - baseline_median) / greatest(
                    1.4826 * coalesce(mad, 0),
                    case when metric = 'row_count' then 0.05 * abs(baseline_median) else 0.01 end,
                    1e-9
                ) as robust_z
            from scored
        )
        select {quote_literal(table)} as source, load_id, loaded_at, files, metric, value,
            baseline_median, robust_z, history_loads
        from with_z
        where history_loads >= {int(min_history)} and abs(robust_z) > {float(threshold)}
        order by loaded_at, metric
    """


def anomaly_message(row: pd.Series) -> str:
    direction = "above" if row["robust_z"] > 0 else "below"
    files = f" (a run of {int(row['files'])} files)" if row["files"] > 1 else ""
    return (
        f"raw.{row['source']} load {row['load_id']}{files}: {row['metric']} = "
        f"{row['value']:.4g}, {direction} its median of the last {int(row['history_loads'])} "
        f"deliveries ({row['baseline_median']:.4g}; robust z {row['robust_z']:.1f})"
    )


def detect_volume_anomalies(
    con: duckdb.DuckDBPyConnection,
    tables: list[str] | None = None,
    history: int = 14,
    min_history: int = 5,
    threshold: float = 3.5,
) -> pd.DataFrame:
    by_run = relation_exists(con, "audit", "load_audit")
    refreshed = refresh_profiles(con, tables)
    frames = [
        con.execute(volume_anomalies_sql(r.table, history, min_history, threshold, by_run)).df()
        for r in refreshed
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=list(ANOMALY_COLUMNS))
    found = pd.concat(frames, ignore_index=True)
    found["message"] = found.apply(anomaly_message, axis=1)
    found["detected_at"] = datetime.now(UTC).replace(tzinfo=None)
    return found[list(ANOMALY_COLUMNS)]


ANOMALIES_DDL = """
create or replace table dq.dq_volume_anomalies (
    source varchar, load_id varchar, loaded_at timestamp, metric varchar, value double,
    baseline_median double, robust_z double, history_loads bigint, message varchar,
    detected_at timestamp
)
"""


def write_volume_anomalies(con: duckdb.DuckDBPyConnection, anomalies: pd.DataFrame) -> int:
    """Replace `dq.dq_volume_anomalies` with this run's findings (recomputed from raw)."""
    con.execute("create schema if not exists dq")
    con.execute(ANOMALIES_DDL)
    if not anomalies.empty:
        con.register("new_anomalies", anomalies)
        con.execute("insert into dq.dq_volume_anomalies by name select * from new_anomalies")
        con.unregister("new_anomalies")
    return len(anomalies)
