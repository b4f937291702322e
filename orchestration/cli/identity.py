"""`customer360 identity resolve | evaluate`: resolve your own file of person records, and
score the warehouse's identity graph against generated ground truth.

`resolve` reads a CSV (header row) or Parquet file and a YAML column mapping
(docs/identity-mapping.md; an example is docs/examples/identity-mapping.yml and
`--help`), and writes into the output folder: `clusters.csv` (one row per record: its
cluster), `links.csv` (every pair at or above the review threshold, with its evidence),
`review.csv` (the pairs for a person to decide, records side by side) and `summary.json`
(counts, what the guards did, timings; with `--truth-column` also pairwise and B-cubed
quality). The folder is written whole or not at all: every mapping or input error is
reported before anything is written, with the role and column it concerns.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.markup import escape

from orchestration.cli.common import (
    WarehouseOption,
    console,
    existing_warehouse,
    fail,
    open_warehouse,
    settings_for,
)
from python_models.identity import (
    cluster_ids_from_labels,
    cluster_metrics,
    cluster_records,
    pairwise_metrics,
    score_links_into,
)
from python_models.identity.mapping import (
    EXAMPLE_MAPPING,
    ColumnMapping,
    MappingError,
    missing_columns,
    parse_mapping,
)

app = typer.Typer(
    help="Identity resolution: resolve your own person records; score the identity graph.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


class ResolveError(Exception):
    """A user error of `identity resolve`: printed as one line, exit code 2."""


def _reader(path: Path) -> str:
    quoted = str(path).replace("'", "''")
    if path.suffix.lower() == ".parquet":
        return f"read_parquet('{quoted}')"
    return f"read_csv('{quoted}', header = true, all_varchar = true)"


def load_input(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> set[str]:
    """Read the input file into TEMP table `table`; its column names."""
    if not path.is_file():
        raise ResolveError(f"input file {path} not found")
    try:
        con.execute(f"create temp table {table} as select * from {_reader(path)}")
    except duckdb.Error as err:
        kind = "Parquet" if path.suffix.lower() == ".parquet" else "CSV with a header row"
        reason = str(err).splitlines()[0]
        raise ResolveError(f"cannot read {path} as {kind}: {reason}") from None
    return {row[0] for row in con.execute(f"describe {table}").fetchall()}


def check_columns(
    mapping: ColumnMapping, columns: set[str], input_path: Path, truth_column: str | None
) -> None:
    missing = missing_columns(mapping, columns)
    if truth_column and truth_column not in columns:
        missing.append(("--truth-column", truth_column))
    if missing:
        shown = ", ".join(f"{role} -> {column!r}" for role, column in missing)
        raise ResolveError(
            f"{input_path} has no column(s) {shown}; its columns are {sorted(columns)}"
        )


def _side_by_side_sql(mapping: ColumnMapping, table: str) -> str:
    """Review pairs with each side's mapped columns, `left_<column>` / `right_<column>`."""
    shown = [c for columns in mapping.columns().values() for c in columns]
    shown = [c for c in dict.fromkeys(shown) if c != mapping.record_id]
    quoted_id = '"' + mapping.record_id.replace('"', '""') + '"'

    def side(alias: str, prefix: str) -> str:
        return "".join(f', {alias}."{c}" as "{prefix}_{c}"' for c in shown)

    return f"""
        select k.left_id, k.right_id, k.match_probability, k.match_weight
            {side("a", "left")}{side("b", "right")},
            k.evidence
        from links as k
        join {table} as a on cast(a.{quoted_id} as varchar) = k.left_id
        join {table} as b on cast(b.{quoted_id} as varchar) = k.right_id
        where k.decision = 'review'
        order by k.match_probability desc, k.left_id, k.right_id
    """


def _copy(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> None:
    target = str(path).replace("'", "''")
    con.execute(f"copy ({sql}) to '{target}' (header)")


def resolve_file(
    input_path: Path,
    mapping_path: Path,
    out_dir: Path,
    truth_column: str | None,
    memory_limit: str,
) -> dict:
    """Resolve `input_path` with the mapping file; write the output folder atomically."""
    if not mapping_path.is_file():
        raise ResolveError(f"mapping file {mapping_path} not found")
    mapping, config = parse_mapping(mapping_path.read_text(encoding="utf-8"), str(mapping_path))
    started = time.perf_counter()
    from python_models.warehouse import connect

    con = connect(":memory:", memory_limit=memory_limit)
    try:
        columns = load_input(con, input_path, "people")
        check_columns(mapping, columns, input_path, truth_column)
        try:
            stats = score_links_into(con, "people", mapping, config, "links")
        except ValueError as err:  # the data breaks the mapping's promises (ids not unique)
            raise ResolveError(str(err)) from None
        ids = (
            con.execute(f'select cast("{mapping.record_id}" as varchar) from people')
            .df()
            .iloc[:, 0]
        )
        auto = con.execute("select left_id, right_id from links where decision = 'auto_link'")
        auto = auto.df()
        labels = cluster_records(ids, auto["left_id"], auto["right_id"])
        clusters = ids.to_frame("record_id")
        clusters["cluster_id"] = cluster_ids_from_labels(ids, labels).values
        clusters["cluster_size"] = clusters.groupby("cluster_id")["record_id"].transform("size")
        summary = {
            "input": str(input_path),
            "records": stats.records,
            "clusters": int(clusters["cluster_id"].nunique()),
            "auto_links": stats.auto_links,
            "review_pairs": stats.review_links,
            "link_type": config.link_type,
            **{k: v for k, v in stats.as_metadata().items() if k not in ("records",)},
        }
        if truth_column:
            truth = con.execute(f'select cast("{truth_column}" as varchar) from people').df()
            truth = truth.iloc[:, 0]
            summary["pairwise"] = pairwise_metrics(clusters["cluster_id"], truth)
            summary["clusters_quality"] = cluster_metrics(clusters["cluster_id"], truth)
        # everything goes into a fresh folder beside the target, renamed into place at the end
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = out_dir.parent / f".{out_dir.name}.{uuid.uuid4().hex[:8]}.partial"
        staging.mkdir()
        try:
            clusters.to_csv(staging / "clusters.csv", index=False)
            _copy(con, "select * from links order by left_id, right_id", staging / "links.csv")
            _copy(con, _side_by_side_sql(mapping, "people"), staging / "review.csv")
            summary["seconds"] = round(time.perf_counter() - started, 2)
            (staging / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
            _replace_folder(staging, out_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    finally:
        con.close()
    return summary


def _replace_folder(staging: Path, out_dir: Path) -> None:
    """Put `staging` where `out_dir` is; a previous output folder goes only once the new one
    is complete."""
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    if not out_dir.is_dir():
        raise ResolveError(f"--out {out_dir} is a file, not a folder")
    previous = out_dir.parent / f".{out_dir.name}.{uuid.uuid4().hex[:8]}.previous"
    out_dir.rename(previous)
    staging.rename(out_dir)
    shutil.rmtree(previous, ignore_errors=True)


RESOLVE_HELP = (
    "Resolve a CSV or Parquet file of person records into clusters.\n\n"
    "The mapping file names the column of each role (docs/identity-mapping.md). "
    "Writes OUT/clusters.csv, links.csv, review.csv and summary.json.\n\n"
    "Example: [bold]customer360 identity resolve --input people.csv --mapping "
    "mapping.yml --out resolved[/]\n\n"
    "Example mapping (docs/examples/identity-mapping.yml):\n\n"
    + "\n\n".join(f"    {escape(line)}" for line in EXAMPLE_MAPPING.splitlines() if line.strip())
)


@app.command("resolve", help=RESOLVE_HELP)
def resolve_command(
    input_path: Annotated[
        Path, typer.Option("--input", help="CSV (with a header row) or .parquet file")
    ],
    mapping: Annotated[Path, typer.Option("--mapping", help="YAML column mapping")],
    out: Annotated[Path, typer.Option("--out", help="output folder (replaced when complete)")],
    truth_column: Annotated[
        str | None,
        typer.Option("--truth-column", help="column with the true entity id, to score"),
    ] = None,
) -> None:
    settings = settings_for()
    try:
        summary = resolve_file(input_path, mapping, out, truth_column, settings.duckdb_memory_limit)
    except (MappingError, ResolveError) as err:
        fail(escape(str(err)))  # a message may hold `[column]`, which is not markup
    console.print(json.dumps(summary, indent=2, default=str), markup=False, soft_wrap=True)


@app.command("evaluate")
def evaluate_command(
    warehouse: WarehouseOption = None,
    truth: Annotated[Path, typer.Option(help="folder with the generator's records.csv")] = Path(
        "seeds/sample_truth"
    ),
) -> None:
    """Score identity.identity_graph against the generator's ground truth and append the
    figures to identity.identity_evaluation.

    Example: [bold]customer360 identity evaluate --truth seeds/sample_truth[/]
    """
    from python_models.identity.evaluate import (
        GRAPH,
        TARGETS,
        evaluate_graph,
        format_table,
        truth_csv_source,
        write_evaluation,
    )

    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    if not (truth / "records.csv").is_file():
        fail(f"no records.csv in {truth}: pass --truth <folder of the generator's truth>")
    with open_warehouse(settings) as con:
        con.execute("set enable_progress_bar = false")
        try:
            run = con.execute(f"select max(last_run_id) from {GRAPH}").fetchall()[0]
        except duckdb.CatalogException:
            fail(f"{GRAPH} not found in {settings.warehouse}: run identity resolution first")
        run_id = run[0] if run and run[0] else "unknown"
        metrics = evaluate_graph(con, truth_csv_source(truth))
        write_evaluation(con, metrics, run_id, str(truth))
    print(f"identity graph of run {run_id} vs truth in {truth}")
    print(format_table(metrics))
    overall = metrics[metrics["scope"] == "overall"].set_index("metric")["value"]
    for metric, target in TARGETS.items():
        status = "ok" if overall[metric] >= target else "BELOW TARGET"
        print(f"{metric}: {overall[metric]:.4f} (target >= {target}) {status}")
    resolvable = metrics[metrics["scope"] == "resolvable"].set_index("metric")["value"]
    if not resolvable.empty:
        print(
            f"on resolvable records ({int(resolvable['records'])} of "
            f"{int(overall['records'])}): precision {resolvable['pairwise_precision']:.4f}, "
            f"recall {resolvable['pairwise_recall']:.4f}; overall recall "
            f"{overall['pairwise_recall']:.4f} of a ceiling of "
            f"{overall['pairwise_recall_ceiling']:.4f} (pairs with a record nothing identifies)"
        )
