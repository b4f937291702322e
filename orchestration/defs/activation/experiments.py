"""`exports/experiment_results`: every audience holdout measured, one HTML report each.

Thin: read outcomes from `marts.fct_orders` for the assigned customers, call the pure
statistics (`python_models.activation.experiments`), write `exports.experiment_results`
and `$CUSTOMER360_EXPORT_DIR/experiments/<experiment>/report.html`.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.settings import get_settings
from python_models.activation.audiences import Audience
from python_models.activation.experiments import (
    daily_conversion,
    experiment_results,
    load_outcomes,
    store_results,
)
from python_models.activation.report import render_report, write_report

RESULTS_KEY = dg.AssetKey(["exports", "experiment_results"])


def build_results_asset(
    audiences: list[Audience], export_keys: list[dg.AssetKey]
) -> dg.AssetsDefinition:
    @dg.asset(
        key=RESULTS_KEY,
        deps=[*export_keys, dg.AssetKey(["marts", "fct_orders"])],
        group_name="activation",
        kinds={"duckdb", "python", "html"},
        owners=sorted({f"team:{a.owner}" for a in audiences}),
        description="Uplift of every audience holdout: size, rate or mean, absolute and "
        "relative uplift, interval and p-value per group, raw and CUPED; fixed analysis date.",
        pool="duckdb",
    )
    def experiment_results_asset(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource
    ) -> dg.MaterializeResult:
        from orchestration.defs.activation.exports import _as_of

        settings = get_settings()
        as_of = _as_of()
        summary: dict[str, object] = {}
        with duckdb.get_connection() as con:
            for audience in audiences:
                holdout = audience.holdout
                assert holdout is not None
                outcomes = load_outcomes(con, holdout, as_of)
                results = experiment_results(audience, outcomes, as_of)
                store_results(con, results)
                daily = daily_conversion(con, holdout, as_of)
                path = settings.export_dir / "experiments" / holdout.experiment / "report.html"
                write_report(path, render_report(audience, results, daily))
                primary = results[
                    results["is_primary_outcome"]
                    & (results["arm"] == "treatment")
                    & (results["method"] != "cuped_welch_t")
                ]
                row = primary.iloc[0].to_dict() if len(primary) else {}
                summary[holdout.experiment] = {
                    "status": outcomes.status,
                    "assigned": outcomes.assigned,
                    "measured": len(outcomes.frame),
                    "absolute_uplift": row.get("absolute_uplift"),
                    "ci": [row.get("ci_low"), row.get("ci_high")],
                    "p_value": row.get("p_value"),
                    "report": str(path),
                }
                context.log.info("%s: %s", holdout.experiment, summary[holdout.experiment])
        return dg.MaterializeResult(
            metadata={
                "experiments": dg.MetadataValue.json(summary),
                "dagster/row_count": 4 * 2 * len(audiences),
            }
        )

    return experiment_results_asset
