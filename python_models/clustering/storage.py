"""Where fitted segment models live: `<model_dir>/<version>/model.joblib` plus a LATEST pointer.

Each version directory also holds `model.json`, a readable summary (k, labels, rules,
metrics), so an analyst can see what a version meant without unpickling it. LATEST is
written last and atomically, so a crash mid-save never points the pipeline at half a model.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import joblib

from python_models.clustering.model import SegmentModel

MODEL_FILE = "model.joblib"
SUMMARY_FILE = "model.json"
LATEST_FILE = "LATEST"


def new_version(trained_at: datetime, model_dir: Path) -> str:
    """`vYYYYMMDDTHHMMSSZ`, with a numeric suffix if that second is already taken."""
    base = "v" + trained_at.strftime("%Y%m%dT%H%M%SZ")
    version, n = base, 1
    while (model_dir / version).exists():
        n += 1
        version = f"{base}-{n}"
    return version


def model_summary(model: SegmentModel) -> dict[str, object]:
    inertia, silhouette = model.selection.as_dicts()
    return {
        "version": model.version,
        "trained_at": model.trained_at.isoformat(),
        "algorithm": model.algorithm,
        "k": model.k,
        "n_train": model.n_train,
        "features": list(model.feature_columns),
        "inertia_by_k": inertia,
        "silhouette_by_k": silhouette,
        "metrics": model.metrics,
        "labels": {str(k): v for k, v in model.labels.items()},
        "rules": {str(k): v for k, v in model.rules.items()},
        "tree": model.tree_text,
    }


def save_model(model: SegmentModel, model_dir: Path) -> Path:
    """Write the model and its summary, then move LATEST to it; return the version dir."""
    target = model_dir / model.version
    target.mkdir(parents=True, exist_ok=False)
    joblib.dump(model, target / MODEL_FILE, compress=3)
    (target / SUMMARY_FILE).write_text(json.dumps(model_summary(model), indent=2, default=str))
    pointer = model_dir / f".{LATEST_FILE}.tmp"
    pointer.write_text(model.version + "\n")
    pointer.replace(model_dir / LATEST_FILE)
    return target


def load_model(model_dir: Path, version: str) -> SegmentModel:
    path = model_dir / version / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"no segment model at {path}")
    model = joblib.load(path)
    if not isinstance(model, SegmentModel):
        raise TypeError(f"{path} does not hold a SegmentModel (got {type(model).__name__})")
    return model


def load_latest(model_dir: Path) -> SegmentModel | None:
    """The model LATEST points at, or None before the first training."""
    pointer = model_dir / LATEST_FILE
    if not pointer.exists():
        return None
    return load_model(model_dir, pointer.read_text().strip())
