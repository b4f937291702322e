"""Where promoted prediction models live: `<model_dir>/<name>/<version>/model.joblib` + LATEST.

Only a promoted model moves LATEST, so a candidate that lost to the current model is
kept on disk for inspection (its `model.json` says why) but never scores anyone. LATEST
is written last and atomically, as the clustering store does.
"""

from __future__ import annotations

import json
from pathlib import Path

import joblib

from python_models.clustering.storage import LATEST_FILE, MODEL_FILE, SUMMARY_FILE, new_version

__all__ = ["load_promoted", "new_version", "save_candidate"]


def save_candidate(
    artifact: object, summary: dict[str, object], model_dir: Path, version: str, *, promote: bool
) -> Path:
    """Write a candidate and its readable summary; move LATEST to it only when promoted."""
    target = model_dir / version
    target.mkdir(parents=True, exist_ok=False)
    joblib.dump(artifact, target / MODEL_FILE, compress=3)
    (target / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str))
    if promote:
        pointer = model_dir / f".{LATEST_FILE}.tmp"
        pointer.write_text(version + "\n")
        pointer.replace(model_dir / LATEST_FILE)
    return target


def load_promoted(model_dir: Path) -> object | None:
    """The artifact LATEST points at, or None before the first promotion."""
    pointer = model_dir / LATEST_FILE
    if not pointer.exists():
        return None
    path = model_dir / pointer.read_text().strip() / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"LATEST in {model_dir} points at a missing model: {path}")
    return joblib.load(path)
