"""One HTML report per experiment: the two groups over time and the uplift's interval.

Built with Altair (Vega-Lite); the Vega JavaScript is inlined (vl-convert supplies it), so
the page opens offline, from a file, in any browser. The page states the experiment's
design: control share, window, fixed analysis date (the peeking guard) and status.
"""

from __future__ import annotations

import html
from pathlib import Path

import altair as alt
import pandas as pd

from python_models.activation.audiences import Audience


def _interval_chart(results: pd.DataFrame) -> alt.Chart:
    columns = ["outcome", "method", "absolute_uplift", "ci_low", "ci_high", "p_value"]
    treatment = results.loc[
        (results["arm"] == "treatment") & results["ci_low"].notna(), columns
    ].astype({"absolute_uplift": float, "ci_low": float, "ci_high": float, "p_value": float})
    treatment["label"] = treatment["outcome"] + " · " + treatment["method"]
    base = alt.Chart(treatment).encode(y=alt.Y("label:N", title=None))
    bars = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("ci_low:Q", title="treatment − control (interval)"), x2="ci_high:Q"
    )
    points = base.mark_point(filled=True, size=80).encode(
        x="absolute_uplift:Q",
        tooltip=["label", "absolute_uplift", "ci_low", "ci_high", "p_value"],
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    return (bars + points + zero).properties(
        width=560, height=120, title="Uplift with its confidence interval"
    )


def _series_chart(daily: pd.DataFrame) -> alt.Chart:
    daily = daily[["day", "arm", "cumulative_rate"]].astype({"day": int, "cumulative_rate": float})
    return (
        alt.Chart(daily)
        .mark_line(point=True)
        .encode(
            x=alt.X("day:Q", title="days since assignment"),
            y=alt.Y("cumulative_rate:Q", title="converted so far", axis=alt.Axis(format="%")),
            color=alt.Color("arm:N", title="group"),
            tooltip=["arm", "day", alt.Tooltip("cumulative_rate:Q", format=".2%")],
        )
        .properties(width=560, height=260, title="Conversion over time, by group")
    )


def render_report(audience: Audience, results: pd.DataFrame, daily: pd.DataFrame) -> str:
    """The report's HTML text (charts inline)."""
    holdout = audience.holdout
    assert holdout is not None
    status = str(results["status"].iloc[0]) if len(results) else "waiting"
    charts = [_series_chart(daily)] if len(daily) else []
    if status == "final":
        charts.append(_interval_chart(results))
    if charts:
        chart = alt.vconcat(*charts)
        body = chart.to_html(inline=True, fullhtml=False)
    else:
        body = "<p>No customer's window has closed yet.</p>"
    table = results.drop(columns=["computed_at"], errors="ignore").to_html(
        index=False, float_format=lambda v: f"{v:.4g}", na_rep=""
    )
    verdict = (
        "Results are final: the analysis date has passed."
        if status == "final"
        else f"Waiting for the analysis date {holdout.analysis_date}: no rates, intervals or "
        "p-values are shown before it (fixed-horizon test; looking early inflates false "
        "positives)."
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Experiment {html.escape(holdout.experiment)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}
table{{border-collapse:collapse;font-size:.85em}}
td,th{{border:1px solid #ccc;padding:.2em .4em}}</style>
</head><body>
<h1>Experiment <code>{html.escape(holdout.experiment)}</code></h1>
<p>Audience <b>{html.escape(audience.name)}</b> ({html.escape(audience.destination)}),
control share {holdout.control_share:.0%} by hash of customer key and salt, outcome
<b>{holdout.outcome}</b> in the {holdout.window_days} days after each customer's assignment,
CUPED on the {holdout.pre_period_days} days before it.</p>
<p id="status" data-status="{status}">{html.escape(verdict)}</p>
<div id="charts">{body}</div>
<h2>Results</h2>
{table}
</body></html>
"""


def write_report(path: Path, text: str) -> Path:
    """Write atomically: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
