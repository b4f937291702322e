"""The data-quality gate's settings: where its outputs go and the knobs an operator may turn.

The values come from the caller (`orchestration.settings.Settings.quality()`, which reads
`CUSTOMER360_DQ_DIR`, `CUSTOMER360_ALERT_HOOK`, `CUSTOMER360_DQ_MAX_QUARANTINE_SHARE` and
`CUSTOMER360_DQ_SAMPLE_ROWS`); this module reads no environment.

- `dq_dir`: `scorecard.html` goes here (the dashboard beside it, `../dashboard.html`).
- `alert_hook`: `log` | `file:/path/alerts.jsonl` | `https://…` webhook.
- `max_quarantine_share`: a load that quarantines more than this share of its rows fails its
  blocking check (a broken feed, not a few bad rows).
- `ge_sample_rows`: great-expectations validates at most this many rows of the latest load
  (a reservoir sample beyond that; the check metadata says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class QualitySettings:
    dq_dir: Path
    alert_hook: str
    max_quarantine_share: float
    ge_sample_rows: int

    @property
    def scorecard_path(self) -> Path:
        return self.dq_dir / "scorecard.html"
