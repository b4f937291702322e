"""Data-quality assets: volume anomalies and the scorecard (after the raw loads), and outliers
(after the order and event marts). Thin: each reads, calls `python_models.quality`, writes."""

import time
from datetime import UTC, datetime

import dagster as dg
from dagster_duckdb import DuckDBResource

from python_models.quality.anomalies import detect_volume_anomalies, write_volume_anomalies
from python_models.quality.config import quality_settings
from python_models.quality.outliers import detect_outliers, write_outliers
from python_models.quality.report import scorecard_html
from python_models.quality.rules import REGISTRY
from python_models.quality.scorecard import read_scorecard, update_scorecard

RAW_KEYS = [dg.AssetKey(["raw", table]) for table in REGISTRY]
FCT_ORDERS_KEY = dg.AssetKey(["marts", "fct_orders"])
FCT_EVENTS_KEY = dg.AssetKey(["marts", "fct_events"])
ANOMALIES_KEY = dg.AssetKey(["dq", "dq_volume_anomalies"])
SCORECARD_KEY = dg.AssetKey(["dq", "dq_scorecard"])
OUTLIERS_KEY = dg.AssetKey(["dq", "dq_outliers"])


@dg.asset(
    key=ANOMALIES_KEY,
    deps=RAW_KEYS,
    group_name="quality",
    kinds={"duckdb", "python"},
    pool="duckdb",
    description="Loads whose row count or key-attribute null rate breaks from the source's last "
    "14 loads (robust z-score); each is a warning naming source and metric.",
)
def dq_volume_anomalies(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    with duckdb.get_connection() as con:
        anomalies = detect_volume_anomalies(con)
        write_volume_anomalies(con, anomalies)
    for message in anomalies["message"]:
        context.log.warning(message)
    return dg.MaterializeResult(
        metadata={
            "anomalies": dg.MetadataValue.int(len(anomalies)),
            "messages": dg.MetadataValue.md("\n".join(f"- {m}" for m in anomalies["message"])),
        }
    )


@dg.asset(
    key=SCORECARD_KEY,
    deps=[*RAW_KEYS, ANOMALIES_KEY],
    group_name="quality",
    kinds={"duckdb", "python"},
    pool="duckdb",
    description="Completeness, validity, consistency, uniqueness and timeliness per source and "
    "load; also written as a self-contained HTML report (CUSTOMER360_DQ_DIR/scorecard.html).",
)
def dq_scorecard(duckdb: DuckDBResource) -> dg.MaterializeResult:
    settings = quality_settings()
    started = time.perf_counter()
    with duckdb.get_connection() as con:
        new_rows = update_scorecard(con)
        scorecard = read_scorecard(con)
        anomalies = con.execute(
            "select source, load_id, metric, value, baseline_median, robust_z "
            "from dq.dq_volume_anomalies"
        ).df()
        has_outliers = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'dq' and table_name = 'dq_outliers'"
        ).fetchall()[0][0]
        outlier_counts = (
            con.execute(
                "select entity, method, count(*) as flagged from dq.dq_outliers group by all "
                "order by all"
            ).df()
            if has_outliers
            else None
        )
    page = scorecard_html(
        scorecard,
        anomalies,
        outlier_counts,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    settings.scorecard_path.parent.mkdir(parents=True, exist_ok=True)
    settings.scorecard_path.write_text(page, encoding="utf-8")
    latest = scorecard.sort_values("loaded_at").groupby("source").tail(1)
    return dg.MaterializeResult(
        metadata={
            "loads_scored": dg.MetadataValue.int(len(new_rows)),
            "report": dg.MetadataValue.path(str(settings.scorecard_path)),
            "latest": dg.MetadataValue.md(_markdown(latest)),
            "seconds": dg.MetadataValue.float(round(time.perf_counter() - started, 2)),
        }
    )


def _markdown(latest) -> str:
    columns = ["source", "load_id", "completeness", "validity", "consistency", "uniqueness",
               "timeliness", "dq_score"]  # fmt: skip
    if latest.empty:
        return "no loads yet"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in latest.iterrows():
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dg.asset(
    key=OUTLIERS_KEY,
    deps=[FCT_ORDERS_KEY, FCT_EVENTS_KEY],
    group_name="quality",
    kinds={"duckdb", "python", "scikit-learn"},
    pool="duckdb",
    description="Order amounts far from their currency/channel peers (robust z, 3×IQR) and "
    "customers an IsolationForest isolates (orders, spend, events, returns). Flagged, not "
    "dropped.",
)
def dq_outliers(duckdb: DuckDBResource) -> dg.MaterializeResult:
    with duckdb.get_connection() as con:
        outliers = detect_outliers(con)
        written = write_outliers(con, outliers)
    by_method = outliers.groupby(["entity", "method"]).size().to_dict()
    return dg.MaterializeResult(
        metadata={
            "flagged": dg.MetadataValue.int(written),
            **{
                f"{entity}_{method}": dg.MetadataValue.int(int(n))
                for (entity, method), n in by_method.items()
            },
        }
    )


@dg.definitions
def quality_assets() -> dg.Definitions:
    return dg.Definitions(assets=[dq_volume_anomalies, dq_scorecard, dq_outliers])
