"""The dashboard as one HTML file that opens offline: Altair (Vega-Lite) charts, tables, and
the data-quality drill-down.

Pure apart from `write_dashboard`: `render_dashboard` takes `DashboardData` and returns the
page. The Vega, Vega-Lite and vega-embed JavaScript is inlined once (vl-convert ships it), and
each chart is a Vega-Lite spec drawn as SVG by `vegaEmbed`, so the page needs no network and
no server. A section whose table has not been built yet says "not run yet".
"""

from __future__ import annotations

import functools
import html
import json
import math
from pathlib import Path

import altair as alt
import pandas as pd

from python_models.activation.report import write_report
from python_models.dashboard.data import DashboardData

CHART_WIDTH = 560
#: the scorecard's dimensions, in the order the page shows them
DQ_DIMENSIONS = ["completeness", "validity", "consistency", "uniqueness", "timeliness"]


@functools.lru_cache(maxsize=1)
def _vega_bundle() -> str:
    import vl_convert

    return vl_convert.javascript_bundle()


def _not_run(what: str, how: str) -> str:
    return f'<p class="not-run">{html.escape(what)}: not run yet. {html.escape(how)}</p>'


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return html.escape(str(value))


def _table(frame: pd.DataFrame, columns: list[str] | None = None, css: str = "") -> str:
    if frame is None or frame.empty:
        return "<p>None.</p>"
    columns = columns or list(frame.columns)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(row[c])}</td>" for c in columns) + "</tr>"
        for row in frame[columns].to_dict("records")
    )
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


# charts: each returns an Altair chart; the page embeds its Vega-Lite spec


def segment_sizes_chart(sizes: pd.DataFrame) -> alt.Chart:
    """Members per segment over the runs (lines), and entries and exits per run (bars)."""
    frame = sizes.assign(as_of=pd.to_datetime(sizes["as_of"]).dt.strftime("%Y-%m-%d"))
    pick = alt.selection_point(fields=["segment"], bind="legend")
    members = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("as_of:O", title="run (as of)"),
            y=alt.Y("members:Q", title="members"),
            color=alt.Color("segment:N", legend=alt.Legend(columns=2, symbolLimit=40)),
            opacity=alt.condition(pick, alt.value(1), alt.value(0.15)),
            tooltip=["segment", "segment_type", "as_of", "members", "entries", "exits"],
        )
        .add_params(pick)
        .properties(width=CHART_WIDTH, height=260, title="Segment sizes over time")
    )
    moves = frame.melt(
        id_vars=["as_of", "segment", "segment_type"],
        value_vars=["entries", "exits"],
        var_name="movement",
        value_name="customers",
    )
    moves.loc[moves["movement"] == "exits", "customers"] *= -1
    flows = (
        alt.Chart(moves)
        .mark_bar()
        .encode(
            x=alt.X("segment:N", title=None, sort="-y"),
            y=alt.Y("customers:Q", title="entries (+) / exits (−)"),
            color=alt.Color(
                "movement:N", scale=alt.Scale(range=["#2e7d32", "#c62828"]), title="movement"
            ),
            column=alt.Column("as_of:O", title="run (as of)"),
            tooltip=["as_of", "segment", "movement", "customers"],
        )
        .properties(width=max(CHART_WIDTH // max(frame["as_of"].nunique(), 1), 160), height=200)
    )
    return alt.vconcat(members, flows).resolve_scale(color="independent")


def rfm_grid_chart(grid: pd.DataFrame) -> alt.Chart:
    """Recency score × frequency-monetary score, coloured by customers, labelled by segment."""
    base = alt.Chart(grid).encode(
        x=alt.X("fm_score:O", title="frequency & monetary score (1–5)"),
        y=alt.Y("r_score:O", title="recency score (5 = most recent)", sort="descending"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("customers:Q", scale=alt.Scale(scheme="blues"), title="customers"),
        tooltip=["rfm_segment", "r_score", "fm_score", "customers", "monetary_gbp"],
    )
    labels = base.mark_text(fontSize=10, baseline="middle").encode(
        text="rfm_segment:N",
        color=alt.condition(
            alt.datum.customers > grid["customers"].max() / 2,
            alt.value("white"),
            alt.value("black"),
        ),
    )
    return (cells + labels).properties(width=420, height=320, title="RFM grid")


def churn_chart(churn: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(churn)
        .mark_bar()
        .encode(
            x=alt.X(
                "probability_bin:Q",
                bin=alt.BinParams(step=0.05, extent=[0, 1]),
                title="churn probability",
            ),
            y=alt.Y("sum(customers):Q", title="customers"),
            color=alt.Color("risk_band:N", title="risk band"),
            tooltip=["risk_band", "probability_bin", "customers"],
        )
        .properties(width=CHART_WIDTH, height=220, title="Churn score distribution")
    )


def clv_chart(clv: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(clv)
        .mark_bar()
        .encode(
            x=alt.X("value_bin:Q", title="expected value, next 12 months (GBP, top 1 % capped)"),
            y=alt.Y("customers:Q", title="customers"),
            tooltip=["value_bin", "customers", "expected_value_gbp"],
        )
        .properties(width=CHART_WIDTH, height=220, title="Customer lifetime value")
    )


def cluster_chart(clusters: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(clusters)
        .mark_bar()
        .encode(
            y=alt.Y("cluster_label:N", sort="-x", title=None),
            x=alt.X("n_customers:Q", title="customers"),
            color=alt.Color(
                "centroid_monetary:Q", title="mean spend (GBP)", scale=alt.Scale(scheme="goldgreen")
            ),
            tooltip=[
                "cluster_label",
                "n_customers",
                "centroid_recency_days",
                "centroid_frequency",
                "centroid_monetary",
                "rules",
            ],
        )
        .properties(width=CHART_WIDTH, height=28 * len(clusters) + 20, title="Cluster profiles")
    )


def scorecard_chart(scorecard: pd.DataFrame) -> alt.Chart:
    """The trend of each source's score over its loads (one line per source)."""
    frame = scorecard.sort_values(["source", "loaded_at", "load_id"]).assign(
        loaded_at=lambda f: pd.to_datetime(f["loaded_at"]).dt.strftime("%Y-%m-%d %H:%M")
    )
    # loads are numbered per source: sources load minutes apart, so a time axis would put
    # each source's one load of a day in its own corner
    frame["load_number"] = frame.groupby("source").cumcount() + 1
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("load_number:O", title="load (oldest first)"),
            y=alt.Y("dq_score:Q", title="data-quality score", scale=alt.Scale(zero=False)),
            color=alt.Color("source:N", title="raw table"),
            tooltip=[
                "source",
                "load_id",
                "loaded_at",
                "rows_read",
                "rows_quarantined",
                *DQ_DIMENSIONS,
                "dq_score",
            ],
        )
        .properties(width=CHART_WIDTH, height=240, title="Data-quality score per load")
    )


def identity_chart(sizes: pd.DataFrame) -> alt.Chart:
    frame = sizes.assign(
        records=sizes["records_per_customer"].map(lambda n: "10+" if n >= 10 else str(n))
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(
                "records:O",
                title="source records per customer",
                sort=[str(n) for n in range(1, 10)] + ["10+"],
            ),
            y=alt.Y("customers:Q", title="customers"),
            tooltip=["records", "customers"],
        )
        .properties(width=CHART_WIDTH, height=200, title="Identity cluster sizes")
    )


def experiment_chart(results: pd.DataFrame) -> alt.Chart | None:
    final = results[(results["arm"] == "treatment") & results["ci_low"].notna()]
    if final.empty:
        return None
    frame = final.assign(
        label=final["experiment"] + " · " + final["outcome"] + " · " + final["method"]
    )
    base = alt.Chart(frame).encode(y=alt.Y("label:N", title=None))
    return (
        base.mark_rule(strokeWidth=3).encode(
            x=alt.X("ci_low:Q", title="treatment − control"), x2="ci_high:Q"
        )
        + base.mark_point(filled=True, size=80).encode(
            x="absolute_uplift:Q",
            tooltip=["label", "absolute_uplift", "ci_low", "ci_high", "p_value"],
        )
    ).properties(width=CHART_WIDTH, height=30 * len(frame) + 20, title="Experiment uplift")


# sections


def _chart_div(name: str, chart: alt.TopLevelMixin | None, specs: dict[str, dict]) -> str:
    if chart is None:
        return ""
    specs[name] = chart.to_dict()
    return f'<div class="chart" id="chart-{name}" data-chart="{name}"></div>'


def _headline(data: DashboardData) -> str:
    h = data.headline
    cards = []
    if "customers" in h:
        cards.append(("customers", f"{h['customers']:,}"))
    if "net_revenue_gbp" in h:
        cards.append(("net revenue (GBP)", f"£{h['net_revenue_gbp']:,.0f}"))
        share = h["anonymous_revenue_gbp"] / h["net_revenue_gbp"] if h["net_revenue_gbp"] else 0
        cards.append(
            (
                "of which anonymous store buyers",
                f"£{h['anonymous_revenue_gbp']:,.0f} ({share:.0%}, {h['anonymous_orders']:,} "
                "orders)",
            )
        )
    for key in ("merges", "splits", "review_queue"):
        if key in data.identity:
            cards.append((f"identity {key.replace('_', ' ')}", f"{data.identity[key]:,}"))
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="label">{html.escape(k)}</div>'
            f'<div class="value">{html.escape(v)}</div></div>'
            for k, v in cards
        )
        + "</div>"
    )


def _segments_section(data: DashboardData, specs: dict) -> str:
    if data.segment_sizes is None:
        return _not_run("Segments", "Build the marts: `customer360 demo`.")
    latest = data.segment_sizes[data.segment_sizes["as_of"] == data.segment_sizes["as_of"].max()]
    runs = data.segment_sizes["as_of"].nunique()
    note = (
        "<p>Only one run so far: entries are everyone, and there are no exits yet. "
        "The next as-of run shows movement.</p>"
        if runs == 1
        else f"<p>{runs} runs.</p>"
    )
    return (
        note
        + _chart_div("segments", segment_sizes_chart(data.segment_sizes), specs)
        + "<h3>Latest run</h3>"
        + _table(
            latest.sort_values("members", ascending=False),
            ["segment", "segment_type", "members", "entries", "exits"],
        )
    )


def _predictions_section(data: DashboardData, specs: dict) -> str:
    parts = []
    if data.churn is None or data.churn.empty:
        parts.append(
            _not_run(
                "Churn scores (models.customer_churn_scores)",
                "The churn model writes them once it has run.",
            )
        )
    else:
        parts.append(_chart_div("churn", churn_chart(data.churn), specs))
    if data.clv is None or data.clv.empty:
        parts.append(
            _not_run(
                "Customer lifetime value (models.customer_clv)",
                "The CLV model writes it once it has run.",
            )
        )
    else:
        parts.append(_chart_div("clv", clv_chart(data.clv), specs))
    return "".join(parts)


def _clusters_section(data: DashboardData, specs: dict) -> str:
    if data.clusters is None or data.clusters.empty:
        return _not_run("Clusters (models.cluster_profiles)", "The clustering model writes them.")
    return _chart_div("clusters", cluster_chart(data.clusters), specs) + _table(
        data.clusters.drop(columns=["rules"]), css="small"
    )


def _quality_section(data: DashboardData, specs: dict) -> str:
    if data.scorecard is None or data.scorecard.empty:
        return _not_run("Data-quality scorecard (dq.dq_scorecard)", "It is scored after loads.")
    latest = data.scorecard.sort_values("loaded_at").groupby("source").tail(1)
    parts = [
        _chart_div("quality", scorecard_chart(data.scorecard), specs),
        "<h3>Latest load per raw table</h3>",
        _table(
            latest,
            ["source", "load_id", "rows_read", "rows_quarantined", *DQ_DIMENSIONS, "dq_score"],
            css="small",
        ),
        "<h3>Failing rules</h3>",
    ]
    failing = data.failing_rules
    if failing is None or failing.empty:
        parts.append("<p>No row is in quarantine.</p>")
        return "".join(parts)
    parts.append(
        "<p>Unreleased quarantined rows per rule. Open a rule to see sample rows "
        "(personal data masked). Fix the source or the rule, then run "
        "<code>customer360 quality replay</code>.</p>"
    )
    for row in failing.to_dict("records"):
        sample = data.quarantine_samples.get((row["raw_table"], row["rule"]))
        parts.append(
            f'<details class="rule" data-table="{html.escape(row["raw_table"])}" '
            f'data-rule="{html.escape(row["rule"])}"><summary>'
            f"<b>{html.escape(row['raw_table'])}</b> · <code>{html.escape(row['rule'])}</code> "
            f"({html.escape(row['severity'])}): {html.escape(row['what_it_checks'])} — "
            f"<b>{row['rows_quarantined']:,}</b> rows</summary>"
            f"{_table(sample, css='small') if sample is not None else ''}</details>"
        )
    return "".join(parts)


def _identity_section(data: DashboardData, specs: dict) -> str:
    if not data.identity:
        return _not_run("Identity resolution (identity.*)", "It runs after the raw loads.")
    figures = {k: v for k, v in data.identity.items() if k != "last_run"}
    rows = pd.DataFrame([{"figure": k.replace("_", " "), "value": v} for k, v in figures.items()])
    parts = [_table(rows, css="small")]
    if data.identity_cluster_sizes is not None and not data.identity_cluster_sizes.empty:
        parts.append(_chart_div("identity", identity_chart(data.identity_cluster_sizes), specs))
    if "last_run" in data.identity:
        run = pd.DataFrame([data.identity["last_run"]])
        parts += ["<h3>Last identity run</h3>", _table(run, css="small")]
    return "".join(parts)


def _experiments_section(data: DashboardData, specs: dict) -> str:
    if data.experiments is None or data.experiments.empty:
        return _not_run(
            "Experiment results (exports.experiment_results)",
            "They appear once an audience with a holdout has been exported.",
        )
    waiting = data.experiments[data.experiments["status"] != "final"]["experiment"].unique()
    note = (
        f"<p>Waiting for the analysis date: {', '.join(map(html.escape, waiting))} (no rates "
        "or intervals before it).</p>"
        if len(waiting)
        else ""
    )
    return (
        note
        + _chart_div("experiments", experiment_chart(data.experiments), specs)
        + _table(data.experiments, css="small")
    )


def _revenue_section(data: DashboardData) -> str:
    if data.revenue is None:
        return _not_run("Orders (marts.fct_orders)", "Build the marts: `customer360 demo`.")
    return (
        "<p>Store buyers who show no loyalty card are anonymous: their orders have no "
        "customer key, so revenue summed over <code>marts.dim_customers</code> leaves them "
        "out. <code>marts.fct_orders</code> has every order.</p>"
        + _table(data.revenue, css="small")
    )


SECTIONS = [
    ("revenue", "Revenue, known and anonymous"),
    ("segments", "Segments"),
    ("rfm", "RFM grid"),
    ("predictions", "Churn and lifetime value"),
    ("clusters", "Clusters"),
    ("quality", "Data quality"),
    ("identity", "Identity"),
    ("experiments", "Experiments"),
]


def render_dashboard(data: DashboardData, generated_at: str = "") -> str:
    """The whole page: sections in a fixed order, one inlined Vega bundle, one spec per chart."""
    specs: dict[str, dict] = {}
    bodies = {
        "revenue": _revenue_section(data),
        "segments": _segments_section(data, specs),
        "rfm": (
            _chart_div("rfm", rfm_grid_chart(data.rfm_grid), specs)
            if data.rfm_grid is not None and not data.rfm_grid.empty
            else _not_run("RFM (marts.customer_rfm)", "Build the marts: `customer360 demo`.")
        ),
        "predictions": _predictions_section(data, specs),
        "clusters": _clusters_section(data, specs),
        "quality": _quality_section(data, specs),
        "identity": _identity_section(data, specs),
        "experiments": _experiments_section(data, specs),
    }
    nav = " · ".join(f'<a href="#{key}">{html.escape(title)}</a>' for key, title in SECTIONS)
    sections = "".join(
        f'<section id="{key}"><h2>{html.escape(title)}</h2>{bodies[key]}</section>'
        for key, title in SECTIONS
    )
    # "</" inside a JSON string would end the script element early
    spec_json = json.dumps(specs, default=str).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>customer360 dashboard{f" · as of {html.escape(data.as_of)}" if data.as_of else ""}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:72em;color:#222}}
h1{{margin-bottom:.2em}} h2{{border-bottom:2px solid #1565c0;padding-bottom:.2em;margin-top:2em}}
nav{{position:sticky;top:0;background:#fff;padding:.4em 0;border-bottom:1px solid #ddd}}
.cards{{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}}
.card{{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:10em}}
.card .label{{font-size:.8em;color:#666}} .card .value{{font-size:1.3em;font-weight:600}}
table{{border-collapse:collapse;font-size:.85em;margin:.5em 0}}
table{{display:block;overflow-x:auto;max-width:100%}}
td,th{{border:1px solid #ccc;padding:.2em .45em;text-align:left}}
th{{background:#f3f6fb}} table.small{{font-size:.78em}}
details.rule{{margin:.3em 0;padding:.3em .5em;border-left:4px solid #c62828;background:#fff8f8}}
details.rule summary{{cursor:pointer}}
.not-run{{color:#666;font-style:italic}} .chart{{margin:1em 0}}
</style>
<script type="text/javascript">{_vega_bundle()}</script>
</head><body>
<h1>customer360</h1>
<p>As of <b>{html.escape(data.as_of or "no run yet")}</b>{
        f" · generated {html.escape(generated_at)}" if generated_at else ""
    }. Every figure comes from the warehouse; this file needs no network.</p>
<nav>{nav}</nav>
{_headline(data)}
{sections}
<script type="text/javascript">
const specs = {spec_json};
const drawn = Object.entries(specs).map(([name, spec]) =>
  vegaEmbed("#chart-" + name, spec, {{renderer: "svg", actions: false}})
    .then(() => document.getElementById("chart-" + name).dataset.drawn = "true"));
Promise.all(drawn)
  .then(() => document.body.dataset.charts = "drawn")
  .catch((error) => {{ document.body.dataset.charts = "failed: " + error; }});
</script>
</body></html>
"""


def write_dashboard(path: Path, text: str) -> Path:
    """Write atomically: a reader never sees half a page."""
    return write_report(path, text)
