"""Every setting of a run, read in one place, with one default each.

Settings come from the environment when they are asked for (never at import time), so a
test or a CLI flag can change them before a run starts. The Dagster resources and assets
read them through `get_settings()`; dbt reads the same variables in `profiles.yml`, whose
defaults a test holds equal to these. Library code in `python_models/` never reads the
environment: it receives these values as arguments.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from python_models.quality.config import QualitySettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SAMPLE_LANDING_DIR = PROJECT_ROOT / "seeds" / "sample"
# The sample's second day: the delivery dated the day after it (`customer360 next-day`).
SAMPLE_NEXT_DAY_DIR = PROJECT_ROOT / "seeds" / "sample_day2"
SAMPLE_TRUTH_DIR = PROJECT_ROOT / "seeds" / "sample_truth"
AS_OF_TAG = "customer360/as_of"  # a run tag that overrides "now" for that run

# The one default of each setting; the environment variable of the same name overrides it.
DEFAULTS: dict[str, str] = {
    "CUSTOMER360_WAREHOUSE": str(PROJECT_ROOT / "data" / "warehouse.duckdb"),
    "CUSTOMER360_LANDING_DIR": str(SAMPLE_LANDING_DIR),
    "CUSTOMER360_AS_OF": "2026-11-01T00:00:00",
    # DuckDB otherwise takes 80 % of the machine and keeps what it takes as cache; with a
    # limit it spills large joins and sorts to disk instead. dbt's connection gets it too.
    "CUSTOMER360_DUCKDB_MEMORY_LIMIT": "6GB",
    # the python-models assets hold pandas/numpy/scipy data beside DuckDB in one process:
    # DuckDB gets this share there, so the process (DuckDB + Python) stays within ~6 GB
    "CUSTOMER360_MODELS_DUCKDB_MEMORY_LIMIT": "4GB",
    # dev | production: production refuses to run privacy work without a real HMAC key
    "CUSTOMER360_ENV": "dev",
    # raw events older than this many days are purged by the retention schedule
    "CUSTOMER360_RETENTION_DAYS": "730",
    "CUSTOMER360_MODEL_DIR": str(PROJECT_ROOT / "data" / "models"),
    "CUSTOMER360_DQ_DIR": str(PROJECT_ROOT / "data" / "dq"),
    # log | file:/path/alerts.jsonl | https://… webhook
    "CUSTOMER360_ALERT_HOOK": "log",
    # a load that quarantines more than this share of its rows fails its blocking check
    "CUSTOMER360_DQ_MAX_QUARANTINE_SHARE": "0.05",
    # great-expectations validates at most this many rows of a load (a reservoir sample beyond)
    "CUSTOMER360_DQ_SAMPLE_ROWS": "200000",
    # audience export runs (<audience>/<run_id>/) and experiment reports
    "CUSTOMER360_EXPORT_DIR": str(PROJECT_ROOT / "data" / "exports"),
}
#: the HMAC key of tombstones and pseudonymised analytics: never committed, never defaulted in
#: production. The dev default below exists only so the demo runs; it is public, so a
#: warehouse built with it has no protection against a dictionary attack.
PRIVACY_KEY_VAR = "CUSTOMER360_PRIVACY_KEY"
DEV_PRIVACY_KEY = "customer360-dev-only-key-not-secret"
MIN_PRIVACY_KEY_BYTES = 32


class PrivacyKeyError(RuntimeError):
    """The HMAC key is missing or too short where a real one is required."""


AUDIENCES_FILE = DBT_PROJECT_DIR / "audiences" / "audiences.yml"
DEFAULT_AS_OF = DEFAULTS["CUSTOMER360_AS_OF"]
DEFAULT_MEMORY_LIMIT = DEFAULTS["CUSTOMER360_DUCKDB_MEMORY_LIMIT"]


@dataclass(frozen=True)
class Settings:
    """Where the warehouse is, where files land, what "now" is, how much memory DuckDB gets,
    where fitted models, quality reports and audience exports go, and the quality gate's
    knobs."""

    warehouse: Path
    landing_dir: Path
    as_of: str
    duckdb_memory_limit: str
    model_dir: Path
    dq_dir: Path
    alert_hook: str
    dq_max_quarantine_share: float
    dq_sample_rows: int
    export_dir: Path = Path(DEFAULTS["CUSTOMER360_EXPORT_DIR"])
    # DuckDB's limit inside the python-models assets (see DEFAULTS)
    models_duckdb_memory_limit: str = DEFAULTS["CUSTOMER360_MODELS_DUCKDB_MEMORY_LIMIT"]
    # True when "now" was given (env), not defaulted: the scorecard then caps its freshness
    # clock at it, as when replaying an old snapshot.
    as_of_is_explicit: bool = False
    environment: str = "dev"
    retention_days: int = 730
    # kept out of repr so a logged Settings never shows the key
    privacy_key_value: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def read(name: str) -> str:
            return env.get(name) or DEFAULTS[name]

        return cls(
            warehouse=Path(read("CUSTOMER360_WAREHOUSE")).resolve(),
            landing_dir=Path(read("CUSTOMER360_LANDING_DIR")).resolve(),
            as_of=read("CUSTOMER360_AS_OF"),
            duckdb_memory_limit=read("CUSTOMER360_DUCKDB_MEMORY_LIMIT"),
            model_dir=Path(read("CUSTOMER360_MODEL_DIR")).resolve(),
            dq_dir=Path(read("CUSTOMER360_DQ_DIR")).resolve(),
            alert_hook=read("CUSTOMER360_ALERT_HOOK"),
            dq_max_quarantine_share=float(read("CUSTOMER360_DQ_MAX_QUARANTINE_SHARE")),
            dq_sample_rows=int(read("CUSTOMER360_DQ_SAMPLE_ROWS")),
            export_dir=Path(read("CUSTOMER360_EXPORT_DIR")).resolve(),
            models_duckdb_memory_limit=read("CUSTOMER360_MODELS_DUCKDB_MEMORY_LIMIT"),
            as_of_is_explicit=bool(env.get("CUSTOMER360_AS_OF")),
            environment=read("CUSTOMER360_ENV").strip().lower(),
            retention_days=int(read("CUSTOMER360_RETENTION_DAYS")),
            privacy_key_value=env.get(PRIVACY_KEY_VAR) or None,
        )

    def privacy_key(self) -> bytes:
        """The HMAC key (bytes). In production a missing or short key is an error; in dev
        the documented, public dev key stands in."""
        if self.privacy_key_value:
            key = self.privacy_key_value.encode()
            if self.environment == "production" and len(key) < MIN_PRIVACY_KEY_BYTES:
                raise PrivacyKeyError(
                    f"{PRIVACY_KEY_VAR} is {len(key)} bytes; production needs at least "
                    f"{MIN_PRIVACY_KEY_BYTES} (e.g. `openssl rand -hex 32`)"
                )
            return key
        if self.environment == "production":
            raise PrivacyKeyError(
                f"{PRIVACY_KEY_VAR} is not set and CUSTOMER360_ENV=production: set it to a "
                f"secret of at least {MIN_PRIVACY_KEY_BYTES} bytes (e.g. `openssl rand -hex "
                "32`) from your secret store; tombstones and analytics hashes need the same "
                "key on every run"
            )
        return DEV_PRIVACY_KEY.encode()

    def with_overrides(self, **changes: object) -> Settings:
        """These settings with the given ones replaced (None means "keep")."""
        given = {k: v for k, v in changes.items() if v is not None}
        if "as_of" in given:
            given["as_of_is_explicit"] = True
        for name in ("warehouse", "landing_dir", "model_dir", "dq_dir", "export_dir"):
            if name in given:
                given[name] = Path(given[name]).resolve()  # type: ignore[arg-type]
        return replace(self, **given)

    @property
    def explicit_as_of(self) -> str | None:
        """'Now' when it was given, else None (the scorecard measures freshness at load time)."""
        return self.as_of if self.as_of_is_explicit else None

    @property
    def log_dir(self) -> Path:
        """Where a command's run log (Dagster and dbt output) goes: beside the warehouse."""
        return self.warehouse.parent / "logs"

    @property
    def dashboard_path(self) -> Path:
        """The static HTML dashboard, written on each run beside the quality reports."""
        return self.dq_dir.parent / "dashboard.html"

    @property
    def analyst_snapshot(self) -> Path:
        """The read-only copy analysts open, beside the warehouse (`<stem>_analyst.duckdb`)."""
        return self.warehouse.with_name(f"{self.warehouse.stem}_analyst.duckdb")

    @property
    def clustering_model_dir(self) -> Path:
        """This warehouse's clustering models: `<model_dir>/clustering/<stem>-<path hash>`, so
        two warehouses never share (or move each other's LATEST) model files."""
        digest = hashlib.sha256(str(self.warehouse).encode()).hexdigest()[:10]
        return self.model_dir / "clustering" / f"{self.warehouse.stem}-{digest}"

    @property
    def churn_model_dir(self) -> Path:
        return self.model_dir / "churn"

    def quality(self) -> QualitySettings:
        """The data-quality gate's settings, for `python_models.quality`."""
        return QualitySettings(
            dq_dir=self.dq_dir,
            alert_hook=self.alert_hook,
            max_quarantine_share=self.dq_max_quarantine_share,
            ge_sample_rows=self.dq_sample_rows,
        )

    def as_env(self) -> dict[str, str]:
        """These settings as the environment variables dbt and child processes read."""
        env = {
            "CUSTOMER360_WAREHOUSE": str(self.warehouse),
            "CUSTOMER360_LANDING_DIR": str(self.landing_dir),
            "CUSTOMER360_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "CUSTOMER360_MODELS_DUCKDB_MEMORY_LIMIT": self.models_duckdb_memory_limit,
            "CUSTOMER360_MODEL_DIR": str(self.model_dir),
            "CUSTOMER360_DQ_DIR": str(self.dq_dir),
            "CUSTOMER360_ALERT_HOOK": self.alert_hook,
            "CUSTOMER360_DQ_MAX_QUARANTINE_SHARE": str(self.dq_max_quarantine_share),
            "CUSTOMER360_DQ_SAMPLE_ROWS": str(self.dq_sample_rows),
            "CUSTOMER360_ENV": self.environment,
            "CUSTOMER360_RETENTION_DAYS": str(self.retention_days),
            "CUSTOMER360_EXPORT_DIR": str(self.export_dir),
        }
        if self.as_of_is_explicit:
            env["CUSTOMER360_AS_OF"] = self.as_of
        return env

    def subprocess_env(self) -> dict[str, str]:
        """The environment a child process (dbt, a second CLI) needs to see these settings.

        An empty CUSTOMER360_AS_OF (as `make sample` sets, so a shell's value cannot leak in)
        means "not set": the child gets none, and dbt falls back to its default as_of."""
        env = {**os.environ, **self.as_env()}
        if not self.as_of_is_explicit:
            env.pop("CUSTOMER360_AS_OF", None)
        return env

    def apply_to_environment(self) -> None:
        """Make these the settings of this process and its children (dbt reads the env).

        Only an entry point calls this, once, before it starts a run; never at import time.
        An empty CUSTOMER360_AS_OF is dropped (see `subprocess_env`).
        """
        os.environ.update(self.as_env())
        if not self.as_of_is_explicit:
            os.environ.pop("CUSTOMER360_AS_OF", None)


def dagster_home() -> Path:
    """Where Dagster records runs: `DAGSTER_HOME`, else the project's `.dagster_home`.

    `make ui` reads the same folder, so the UI shows every run a command made.
    """
    return Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home").resolve()


def get_settings() -> Settings:
    """The settings of this process, as the environment says now."""
    return Settings.from_env()


#: the live sources' variables: unset means "not configured" (the shop and CRM then load from
#: landing files); when set, their Dagster resources read them through `dg.EnvVar`, so the
#: values (a password, a token) never appear in the UI or in run metadata.
SHOP_DATABASE_URL = "CUSTOMER360_SHOP_DATABASE_URL"
CRM_API_URL = "CUSTOMER360_CRM_API_URL"
CRM_API_TOKEN = "CUSTOMER360_CRM_API_TOKEN"


def is_set(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether an optional setting (a live source's URL or token) has a value."""
    return bool((os.environ if environ is None else environ).get(name))
