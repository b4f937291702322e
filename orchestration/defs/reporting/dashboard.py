"""The dashboard asset: after the marts, models, identity and quality assets, it reads their
tables (aggregates only) and writes one HTML file that opens offline.

Thin: `python_models.dashboard` reads and renders; this asset only says where and when.
Tables another part of the pipeline has not built yet show as "not run yet" on the page.
"""

import time
from datetime import UTC, datetime

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.settings import get_settings
from python_models.dashboard import collect_dashboard_data, render_dashboard, write_dashboard

DASHBOARD_KEY = dg.AssetKey(["reports", "dashboard"])
READS = [
    dg.AssetKey(["marts", name])
    for name in ("dim_customers", "fct_orders", "customer_rfm", "segment_summary")
] + [
    dg.AssetKey(["models", "cluster_profiles"]),
    dg.AssetKey(["models", "customer_churn_scores"]),
    dg.AssetKey(["models", "customer_clv"]),
    dg.AssetKey(["identity", "identity_graph"]),
    dg.AssetKey(["dq", "dq_scorecard"]),
    dg.AssetKey(["exports", "experiment_results"]),
]


@dg.asset(
    key=DASHBOARD_KEY,
    deps=READS,
    group_name="reporting",
    kinds={"html", "python"},
    # it only reads, but the resource's connection is a writer's: one at a time
    pool="duckdb",
    description="Static HTML dashboard (<data>/dashboard.html): segment sizes with entries "
    "and exits, the RFM grid, churn and CLV, cluster profiles, the data-quality scorecard "
    "with its failing rules and sample quarantined rows, identity figures and experiments.",
)
def dashboard(duckdb: DuckDBResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    path = get_settings().dashboard_path
    with duckdb.get_connection() as con:
        data = collect_dashboard_data(con)
    generated_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    write_dashboard(path, render_dashboard(data, generated_at=generated_at))
    not_run = [
        name
        for name, frame in [
            ("churn", data.churn),
            ("clv", data.clv),
            ("experiments", data.experiments),
        ]
        if frame is None
    ]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "as_of": dg.MetadataValue.text(data.as_of or "none"),
            "failing_rules": dg.MetadataValue.int(
                0 if data.failing_rules is None else len(data.failing_rules)
            ),
            "not_run_yet": dg.MetadataValue.text(", ".join(not_run) or "none"),
            "seconds": dg.MetadataValue.float(round(time.perf_counter() - started, 2)),
        }
    )


@dg.definitions
def reporting_assets() -> dg.Definitions:
    return dg.Definitions(assets=[dashboard])
