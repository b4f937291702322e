"""Where quality outputs go and the knobs an operator may turn, read from the environment once.

- `CUSTOMER360_DQ_DIR` (default `data/dq/`): Data Docs (`data_docs/`), `scorecard.html`.
- `CUSTOMER360_ALERT_HOOK`: `log` (default) | `file:/path/alerts.jsonl` | `https://…` webhook.
- `CUSTOMER360_DQ_MAX_QUARANTINE_SHARE` (default 0.05): a load that quarantines more than this
  share of its rows fails its blocking check (a broken feed, not a few bad rows).
- `CUSTOMER360_DQ_SAMPLE_ROWS` (default 200000): great-expectations validates at most this many
  rows of the latest load (a reservoir sample beyond that; the check metadata says so).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from python_models.settings import PROJECT_ROOT


@dataclass(frozen=True)
class QualitySettings:
    dq_dir: Path
    alert_hook: str
    max_quarantine_share: float
    ge_sample_rows: int

    @property
    def data_docs_dir(self) -> Path:
        return self.dq_dir / "data_docs"

    @property
    def scorecard_path(self) -> Path:
        return self.dq_dir / "scorecard.html"


def quality_settings() -> QualitySettings:
    return QualitySettings(
        dq_dir=Path(os.environ.get("CUSTOMER360_DQ_DIR", PROJECT_ROOT / "data" / "dq")).resolve(),
        alert_hook=os.environ.get("CUSTOMER360_ALERT_HOOK", "log"),
        max_quarantine_share=float(os.environ.get("CUSTOMER360_DQ_MAX_QUARANTINE_SHARE", "0.05")),
        ge_sample_rows=int(os.environ.get("CUSTOMER360_DQ_SAMPLE_ROWS", "200000")),
    )
