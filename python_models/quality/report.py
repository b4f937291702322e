"""The scorecard as one self-contained HTML page: a matrix of the latest loads and trends.

Pure: takes DataFrames, returns a string. No scripts, no external assets: inline CSS and SVG,
so the file can be mailed or opened from disk.
"""

from __future__ import annotations

import html
import math

import pandas as pd

from python_models.quality.scorecard import DIMENSIONS

TREND_WIDTH, TREND_HEIGHT = 220, 48


def _cell_colour(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "#eeeeee"
    if value >= 0.98:
        return "#c8e6c9"
    if value >= 0.9:
        return "#fff3c4"
    return "#ffcdd2"


def _fmt(value: object, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def trend_svg(values: list[float]) -> str:
    """A sparkline of scores in [0, 1] (one point per load, oldest first)."""
    points = [v for v in values if v is not None and not math.isnan(v)]
    if not points:
        return ""
    step = TREND_WIDTH / max(len(points) - 1, 1)
    coords = " ".join(
        f"{i * step:.1f},{(1 - p) * (TREND_HEIGHT - 4) + 2:.1f}" for i, p in enumerate(points)
    )
    last_x = (len(points) - 1) * step
    last_y = (1 - points[-1]) * (TREND_HEIGHT - 4) + 2
    return (
        f'<svg width="{TREND_WIDTH + 6}" height="{TREND_HEIGHT}" role="img" '
        f'aria-label="dq_score trend">'
        f'<line x1="0" y1="{0.1 * (TREND_HEIGHT - 4) + 2:.1f}" x2="{TREND_WIDTH}" '
        f'y2="{0.1 * (TREND_HEIGHT - 4) + 2:.1f}" stroke="#bbb" stroke-dasharray="3,3"/>'
        f'<polyline fill="none" stroke="#1565c0" stroke-width="2" points="{coords}"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="3" fill="#1565c0"/></svg>'
    )


def _table(frame: pd.DataFrame, columns: list[str]) -> str:
    if frame.empty:
        return "<p>None.</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(row[c], 2)}</td>" for c in columns) + "</tr>"
        for _, row in frame.iterrows()
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def scorecard_html(
    scorecard: pd.DataFrame,
    anomalies: pd.DataFrame | None = None,
    outlier_counts: pd.DataFrame | None = None,
    generated_at: str = "",
    unrecognised_files: pd.DataFrame | None = None,
) -> str:
    """The whole report page."""
    latest = (
        scorecard.sort_values(["source", "loaded_at", "load_id"]).groupby("source").tail(1)
        if not scorecard.empty
        else scorecard
    )
    header = "".join(f"<th>{d}</th>" for d in (*DIMENSIONS, "dq_score"))
    rows = []
    for _, row in latest.iterrows():
        history = scorecard[scorecard["source"] == row["source"]].sort_values("loaded_at")
        cells = "".join(
            f'<td style="background:{_cell_colour(row[d])}">{_fmt(row[d])}</td>'
            for d in (*DIMENSIONS, "dq_score")
        )
        rows.append(
            f"<tr><th>{html.escape(row['source'])}</th><td>{html.escape(str(row['load_id']))}</td>"
            f"<td>{int(row['rows_read'])}</td><td>{int(row['rows_quarantined'])}</td>{cells}"
            f"<td>{trend_svg(list(history['dq_score']))}</td></tr>"
        )
    history_table = _table(
        scorecard.sort_values(["source", "loaded_at"]),
        ["source", "load_id", "loaded_at", "rows_read", "rows_quarantined", *DIMENSIONS,
         "freshness_lag_hours", "dq_score"],
    )  # fmt: skip
    sections = [
        "<h2>Latest load per source</h2>",
        "<table><tr><th>source</th><th>load</th><th>rows</th><th>quarantined</th>"
        f"{header}<th>dq_score trend (all loads)</th></tr>{''.join(rows)}</table>",
        "<p class='legend'>green ≥ 0.98 · amber ≥ 0.90 · red below · grey: not applicable. "
        "Dashed line in trends: 0.90.</p>",
    ]
    if anomalies is not None:
        sections += ["<h2>Volume and null-rate anomalies</h2>", _table(anomalies, list(anomalies))]
    if outlier_counts is not None:
        sections += ["<h2>Outliers flagged</h2>", _table(outlier_counts, list(outlier_counts))]
    if unrecognised_files is not None:
        sections += [
            f"<h2>Unrecognised landing files ({len(unrecognised_files)}), never loaded</h2>",
            _table(unrecognised_files, list(unrecognised_files)),
        ]
    sections += ["<h2>All loads</h2>", history_table]
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #ddd;padding:4px 8px;text-align:right;font-size:13px}"
        "th{background:#f5f5f5;text-align:left}.legend{color:#666;font-size:12px}"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>customer360 data-quality scorecard</title><style>{style}</style></head><body>"
        f"<h1>customer360 data-quality scorecard</h1><p>Generated {html.escape(generated_at)}."
        " Dimensions are shares in [0, 1]; see docs/decisions/0003-data-quality.md.</p>"
        + "".join(sections)
        + "</body></html>"
    )
