"""Refresh the volume anomalies and the scorecard, and write the HTML report.

Used by the Dagster assets and from the command line:

    customer360 quality report [--warehouse data/warehouse.duckdb] [--out report.html]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from python_models.quality.anomalies import detect_volume_anomalies, write_volume_anomalies
from python_models.quality.quarantine import relation_exists
from python_models.quality.report import scorecard_html
from python_models.quality.scorecard import read_scorecard, update_scorecard


@dataclass(frozen=True)
class PublishedScorecard:
    new_rows: pd.DataFrame
    scorecard: pd.DataFrame
    anomalies: pd.DataFrame
    report_path: Path


def refresh_anomalies(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    anomalies = detect_volume_anomalies(con)
    write_volume_anomalies(con, anomalies)
    return anomalies


def publish_scorecard(
    con: duckdb.DuckDBPyConnection, report_path: Path, as_of: str | None = None
) -> PublishedScorecard:
    """Score new loads, then write the report (with anomalies and outlier counts if present).

    `as_of` (optional) caps the freshness clock; see `update_scorecard`."""
    new_rows = update_scorecard(con, as_of=as_of)
    scorecard = read_scorecard(con)
    anomalies = (
        con.execute(
            "select source, load_id, metric, value, baseline_median, robust_z "
            "from dq.dq_volume_anomalies order by loaded_at, source, metric"
        ).df()
        if relation_exists(con, "dq", "dq_volume_anomalies")
        else pd.DataFrame()
    )
    outlier_counts = (
        con.execute(
            "select entity, method, count(*) as flagged from dq.dq_outliers "
            "group by all order by all"
        ).df()
        if relation_exists(con, "dq", "dq_outliers")
        else None
    )
    unrecognised = (
        con.execute(
            "select file_path, reason, recorded_at as last_seen from ("
            "select *, row_number() over (partition by file_path order by recorded_at desc) "
            "as latest from audit.landing_files) where latest = 1 and state = 'unrecognised' "
            "order by file_path"
        ).df()
        if relation_exists(con, "audit", "landing_files")
        else pd.DataFrame(columns=["file_path", "reason", "last_seen"])
    )
    page = scorecard_html(
        scorecard,
        anomalies,
        outlier_counts,
        unrecognised_files=unrecognised,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(page, encoding="utf-8")
    return PublishedScorecard(new_rows, scorecard, anomalies, report_path)
