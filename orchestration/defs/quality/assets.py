"""Data-quality assets: volume anomalies and the scorecard (after the raw loads), and outliers
(after the order and event marts). Thin: each reads, calls `python_models.quality`, writes."""

import time

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.settings import get_settings
from python_models.quality.outliers import detect_outliers, write_outliers
from python_models.quality.publish import publish_scorecard, refresh_anomalies
from python_models.quality.rules import REGISTRY
from python_models.warehouse import current_as_of

RAW_KEYS = [dg.AssetKey(["raw", table]) for table in REGISTRY]
FCT_ORDERS_KEY = dg.AssetKey(["marts", "fct_orders"])
FCT_EVENTS_KEY = dg.AssetKey(["marts", "fct_events"])
FCT_ORDER_LINES_KEY = dg.AssetKey(["marts", "fct_order_lines"])
DIM_PRODUCTS_KEY = dg.AssetKey(["marts", "dim_products"])
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
        anomalies = refresh_anomalies(con)
    for message in anomalies["message"]:
        context.log.warning(message)
    return dg.MaterializeResult(
        metadata={
            "anomalies": dg.MetadataValue.int(len(anomalies)),
            "messages": dg.MetadataValue.md(
                "\n".join(f"- {m}" for m in anomalies["message"]) or "none"
            ),
        }
    )


@dg.asset(
    key=SCORECARD_KEY,
    deps=[*RAW_KEYS, ANOMALIES_KEY, dg.AssetKey(["audit", "landing_files"])],
    group_name="quality",
    kinds={"duckdb", "python"},
    pool="duckdb",
    description="Completeness, validity, consistency, uniqueness and timeliness per source and "
    "load; also written as a self-contained HTML report (CUSTOMER360_DQ_DIR/scorecard.html).",
)
def dq_scorecard(duckdb: DuckDBResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    settings = get_settings()
    with duckdb.get_connection() as con:
        published = publish_scorecard(
            con, settings.quality().scorecard_path, as_of=current_as_of(con)
        )
    scorecard = published.scorecard
    latest = scorecard.sort_values("loaded_at").groupby("source").tail(1)
    return dg.MaterializeResult(
        metadata={
            "loads_scored": dg.MetadataValue.int(len(published.new_rows)),
            "report": dg.MetadataValue.path(str(published.report_path)),
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
    deps=[FCT_ORDERS_KEY, FCT_EVENTS_KEY, FCT_ORDER_LINES_KEY, DIM_PRODUCTS_KEY],
    group_name="quality",
    kinds={"duckdb", "python", "scikit-learn"},
    pool="duckdb",
    description="Order amounts far from their currency/channel peers and line amounts far from "
    "their currency/category peers (robust z, 3×IQR), and "
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
