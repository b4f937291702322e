"""`python -m python_models.contract sync|check`: keep the dbt source yml in step with the contract.

python -m python_models.contract sync    # rewrite the staging/*/_*__sources.yml that drifted
python -m python_models.contract check   # exit 1 and name the difference when one drifted
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from python_models.contract.dbt_sources import drift, sync

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m python_models.contract", description=__doc__)
    parser.add_argument("command", choices=("sync", "check"))
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help="the dbt project")
    args = parser.parse_args(argv)
    if args.command == "check":
        problems = drift(args.project_dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    written = sync(args.project_dir)
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("dbt source yml already matches the contract")
    return 0


if __name__ == "__main__":
    sys.exit(main())
