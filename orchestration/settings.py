"""Every setting of a run, read in one place, with one default each.

Settings come from the environment when they are asked for (never at import time), so a
test or a CLI flag can change them before a run starts. Dagster resources read the same
names through `dg.EnvVar`; library code in `python_models/` never reads the environment:
it receives these values as arguments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SAMPLE_LANDING_DIR = PROJECT_ROOT / "seeds" / "sample"
SAMPLE_TRUTH_DIR = PROJECT_ROOT / "seeds" / "sample_truth"
AS_OF_TAG = "customer360/as_of"  # a run tag that overrides "now" for that run

# The one default of each setting; the environment variable of the same name overrides it.
DEFAULTS: dict[str, str] = {
    "CUSTOMER360_WAREHOUSE": str(PROJECT_ROOT / "data" / "warehouse.duckdb"),
    "CUSTOMER360_LANDING_DIR": str(SAMPLE_LANDING_DIR),
    "CUSTOMER360_AS_OF": "2026-11-01T00:00:00",
    "CUSTOMER360_DUCKDB_MEMORY_LIMIT": "6GB",
    # dev | production: production refuses to run privacy work without a real HMAC key
    "CUSTOMER360_ENV": "dev",
    # raw events older than this many days are purged by the retention schedule
    "CUSTOMER360_RETENTION_DAYS": "730",
}
#: the HMAC key of tombstones and pseudonymised analytics: never committed, never defaulted in
#: production. The dev default below exists only so the demo runs; it is public, so a
#: warehouse built with it has no protection against a dictionary attack.
PRIVACY_KEY_VAR = "CUSTOMER360_PRIVACY_KEY"
DEV_PRIVACY_KEY = "customer360-dev-only-key-not-secret"
MIN_PRIVACY_KEY_BYTES = 32


class PrivacyKeyError(RuntimeError):
    """The HMAC key is missing or too short where a real one is required."""


DEFAULT_AS_OF = DEFAULTS["CUSTOMER360_AS_OF"]


@dataclass(frozen=True)
class Settings:
    """Where the warehouse is, where files land, what "now" is, how much memory DuckDB gets."""

    warehouse: Path
    landing_dir: Path
    as_of: str
    duckdb_memory_limit: str
    environment: str = "dev"
    retention_days: int = 730
    privacy_key_value: str | None = None

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
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def subprocess_env(self) -> dict[str, str]:
        """The environment a child process (dbt, a second CLI) needs to see these settings."""
        return {
            **os.environ,
            "CUSTOMER360_WAREHOUSE": str(self.warehouse),
            "CUSTOMER360_LANDING_DIR": str(self.landing_dir),
            "CUSTOMER360_AS_OF": self.as_of,
            "CUSTOMER360_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "CUSTOMER360_ENV": self.environment,
            "CUSTOMER360_RETENTION_DAYS": str(self.retention_days),
        }


def get_settings() -> Settings:
    """The settings of this process, as the environment says now."""
    return Settings.from_env()
