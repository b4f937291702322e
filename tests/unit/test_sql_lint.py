"""The dbt SQL follows the house style: `sqlfluff lint` (the repo's .sqlfluff) finds nothing.

One subprocess: the dbt templater compiles the whole project once (about a minute), so the
test is marked slow. dbt's target folder and the warehouse it connects to are temporary, so
the test never touches another run's files or the user's warehouse.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sqlfluff_finds_nothing_in_the_dbt_models(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CUSTOMER360_WAREHOUSE": str(tmp_path / "lint.duckdb"),
        "DBT_TARGET_PATH": str(tmp_path / "dbt_target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("sqlfluff")),
            "lint",
            "dbt_project/models",
            "--processes",
            "1",
            "--disable-progress-bar",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    violations = "\n".join(
        line for line in result.stdout.splitlines() if not line.startswith("== [") or "FAIL" in line
    )
    assert result.returncode == 0, (
        "sqlfluff found style violations in dbt_project/models (fix the SQL, or for generated "
        "int_segment_*_members.sql the templates in python_models/segments/compiler.py, then "
        "recompile):\n"
        f"{violations}\n{result.stderr[-2000:]}"
    )
