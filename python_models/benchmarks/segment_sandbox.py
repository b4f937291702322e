"""A throw-away copy of the segment part of the dbt project, for tests and benchmarks.

The core models the segments read (`int_customers_profiled`, `int_orders_keyed`,
`int_events_keyed`, and the `models.customer_clusters` source) are replaced by views over
tables in a `fixtures` schema of the sandbox's own DuckDB file, so segments can
be built and timed without the extract, staging and identity stages. Nothing here touches the
real warehouse.
"""

import json
import shutil
from pathlib import Path

from dbt.cli.main import dbtRunner

from orchestration.settings import DBT_PROJECT_DIR

# stand-in model → fixture table it reads (the profile and the clusters share one)
CORE_STUBS = {
    "int_customers_profiled": "dim_customers",
    "int_orders_keyed": "fct_orders",
    "int_events_keyed": "fct_events",
}
# the Python-written source the traits read, pointed at the fixture that has cluster_id
CLUSTERS_SOURCE_YML = """\
version: 2
sources:
  - name: models
    schema: fixtures
    tables:
      - name: customer_clusters
        identifier: dim_customers
"""
SEGMENT_FOLDERS = ("models/intermediate/segments", "models/marts/segments", "macros/tests")

PROFILES_YML = """\
customer360:
  target: sandbox
  outputs:
    sandbox:
      type: duckdb
      path: "{{ env_var('CUSTOMER360_WAREHOUSE') }}"
      schema: main
      threads: 2
"""


def copy_segment_project(destination: Path, project_dir: Path = DBT_PROJECT_DIR) -> None:
    """Copy the segment models, macros and seeds; stand views over `fixtures.*` in for core."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(project_dir / "dbt_project.yml", destination / "dbt_project.yml")
    (destination / "profiles.yml").write_text(PROFILES_YML, encoding="utf-8")
    for folder in SEGMENT_FOLDERS:
        shutil.copytree(project_dir / folder, destination / folder)
    for macro in [
        project_dir / "macros" / "generate_schema_name.sql",
        *project_dir.glob("macros/segments_*.sql"),
    ]:
        shutil.copy(macro, destination / "macros" / macro.name)
    (destination / "seeds").mkdir()
    for seed in [*project_dir.glob("seeds/rfm_*.csv"), *project_dir.glob("seeds/segment_*.csv")]:
        shutil.copy(seed, destination / "seeds" / seed.name)
    core = destination / "models" / "intermediate" / "core"
    core.mkdir(parents=True)
    (core / "_fixtures__sources.yml").write_text(CLUSTERS_SOURCE_YML, encoding="utf-8")
    for name, fixture in CORE_STUBS.items():
        (core / f"{name}.sql").write_text(
            f"{{{{ config(materialized='view') }}}}\nselect * from fixtures.{fixture}\n",
            encoding="utf-8",
        )


class DbtFailed(RuntimeError):
    """A dbt command in the sandbox failed; the message lists the failing nodes."""


class DbtSession:
    """dbt in-process, parsed once. Each run only changes `--vars` (read when models compile,
    not when they parse), so re-using the manifest saves a full re-parse per simulated day.
    The caller sets CUSTOMER360_WAREHOUSE to the sandbox's DuckDB file."""

    def __init__(self, project: Path) -> None:
        self.flags = ["--project-dir", str(project), "--profiles-dir", str(project), "--quiet"]
        parsed = dbtRunner().invoke(["parse", *self.flags])
        if not parsed.success:
            raise DbtFailed(f"dbt parse failed: {parsed.exception}")
        self.runner = dbtRunner(manifest=parsed.result)

    def invoke(self, command: str, as_of: str, *extra: str) -> list[tuple[str, float]]:
        """Run a dbt command at `as_of`; returns (node name, seconds) for every node run."""
        result = self.runner.invoke(
            [command, *self.flags, "--vars", json.dumps({"as_of": as_of}), *extra]
        )
        if not result.success:
            failures = [
                f"{node.node.name}: {node.status} {node.message}"
                for node in getattr(result.result, "results", None) or []
                if str(node.status) in {"error", "fail"}
            ]
            raise DbtFailed(f"dbt {command} at {as_of} failed: {result.exception or failures}")
        return [
            (node.node.name, node.execution_time)
            for node in getattr(result.result, "results", None) or []
        ]
