"""Resolve a CSV or Parquet file of person records into clusters from the command line.

    python -m python_models.identity.resolve_cli --input people.csv --mapping mapping.yml \\
        [--truth-column person_id] --out DIR

`mapping.yml` names the input columns (keys of `ColumnMapping`: record_id, given_name,
family_name, email, phone, street, city, postcode, birth_date, other_ids, country) and may
hold a `config:` section with `MatchConfig` fields. Writes DIR/clusters.csv,
DIR/links.csv and DIR/summary.json; with --truth-column also pairwise and B-cubed quality.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb
import yaml

from python_models.identity import (
    ColumnMapping,
    MatchConfig,
    cluster_ids_from_labels,
    cluster_metrics,
    cluster_records,
    pairwise_metrics,
    score_links_into,
)


def load_mapping(path: Path) -> tuple[ColumnMapping, MatchConfig]:
    """Parse the mapping file; unknown keys are an error that names them."""
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of column roles, got {type(raw).__name__}")
    config_raw = raw.pop("config", None) or {}
    known = set(MatchConfig.model_fields)
    unknown = sorted(set(config_raw) - known)
    if unknown:
        raise ValueError(
            f"{path}: unknown config key(s) {unknown}; expected any of {sorted(known)}"
        )
    try:
        mapping = ColumnMapping.from_dict(raw)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err
    return mapping, MatchConfig(**config_raw)


def _reader(path: Path) -> str:
    quoted = str(path).replace("'", "''")
    if path.suffix.lower() == ".parquet":
        return f"read_parquet('{quoted}')"
    return f"read_csv('{quoted}', header = true, all_varchar = true)"


def run(input_path: Path, mapping_path: Path, out_dir: Path, truth_column: str | None) -> dict:
    mapping, config = load_mapping(mapping_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"create temp table people as select * from {_reader(input_path)}")
    columns = {row[0] for row in con.execute("describe people").fetchall()}
    wanted = [mapping.record_id, *mapping.roles().values()] + (
        [truth_column] if truth_column else []
    )
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise ValueError(f"{input_path}: columns {missing} not found; file has {sorted(columns)}")
    stats = score_links_into(con, "people", mapping, config, "links")
    ids = con.execute(f'select cast("{mapping.record_id}" as varchar) from people').df().iloc[:, 0]
    auto = con.execute("select left_id, right_id from links where decision = 'auto_link'").df()
    labels = cluster_records(ids, auto["left_id"], auto["right_id"])
    clusters = ids.to_frame("record_id")
    clusters["cluster_id"] = cluster_ids_from_labels(ids, labels).values
    clusters.to_csv(out_dir / "clusters.csv", index=False)
    links_csv = str(out_dir / "links.csv").replace("'", "''")
    con.execute(f"copy (select * from links order by left_id, right_id) to '{links_csv}' (header)")
    summary = {"seconds": round(time.perf_counter() - started, 2), **stats.as_metadata()}
    summary["clusters"] = int(clusters["cluster_id"].nunique())
    if truth_column:
        truth = con.execute(f'select cast("{truth_column}" as varchar) from people').df().iloc[:, 0]
        summary["pairwise"] = pairwise_metrics(clusters["cluster_id"], truth)
        summary["clusters_quality"] = cluster_metrics(clusters["cluster_id"], truth)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, required=True, help="CSV (header) or .parquet")
    parser.add_argument("--mapping", type=Path, required=True, help="YAML column mapping")
    parser.add_argument("--truth-column", help="column with the true entity id, to score")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    try:
        summary = run(args.input, args.mapping, args.out, args.truth_column)
    except (ValueError, FileNotFoundError, duckdb.Error) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
