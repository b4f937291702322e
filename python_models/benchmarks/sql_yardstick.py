"""The SQL yardstick: each heavy dbt stage against hand-written DuckDB SQL, in one run.

For every stage (a few dbt models that together make one product, such as `fct_orders` and
`fct_order_lines`) it builds the same rows three ways on the same warehouse and times each:
`dbt run --select <models>` (the whole invocation, and dbt's own per-model execution times),
the models' compiled SQL executed directly in DuckDB (dbt's SQL without dbt), and
hand-written, idiomatic DuckDB SQL (`hand_written/<stage>.sql`). dbt model / hand-written is
what the dbt stage costs; compiled / hand-written is what the SQL's shape costs. Wall seconds
swing when other jobs share the machine, so CPU seconds are reported too; dbt's CPU is taken
net of a `dbt run --empty` of the same selection (start-up, parsing, bookkeeping on zero
rows). Then it checks that dbt's and the hand-written outputs agree: same columns and types,
same row count, and equal order-independent checksums over every column and whole rows.

Run it on a bench warehouse or a copy: `dbt run` (and, briefly, `dbt run --empty`) rebuilds
the selected models in place, and scratch schemas `yardstick_compiled` and `yardstick_hand`
are created (dropped at the end unless `--keep-scratch`). dbt writes its target and logs to a
temporary folder, never to `dbt_project/target`. `--check-only` runs just the hand-written
SQL and compares it with the tables dbt already built (no dbt, quick).

    python -m python_models.benchmarks.sql_yardstick --warehouse bench_out/100000/warehouse.duckdb
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.settings import DBT_PROJECT_DIR, DEFAULT_AS_OF, get_settings
from python_models.transform import dbt_executable
from python_models.warehouse import connect as open_warehouse

HAND_WRITTEN_DIR = Path(__file__).resolve().parent / "hand_written"
COMPILED_SCHEMA = "yardstick_compiled"
HAND_SCHEMA = "yardstick_hand"
# Above this dbt-model / hand-written ratio a stage is called out in the printed table.
SLOW_RATIO = 1.5


@dataclass(frozen=True)
class Stage:
    """One product built by a few dbt models, and its hand-written twin.

    `models` are dbt model names in build order; `outputs` are the relations (`schema.model`)
    compared with the hand-written tables of the same name in the scratch schema.
    """

    name: str
    models: tuple[str, ...]
    outputs: tuple[str, ...]
    description: str

    @property
    def sql_file(self) -> Path:
        return HAND_WRITTEN_DIR / f"{self.name}.sql"


STAGES: tuple[Stage, ...] = (
    Stage(
        "web_events_staging",
        ("stg_web__events",),
        ("staging.stg_web__events",),
        "raw.web_events -> staging (JSON properties parsed, latest load per event)",
    ),
    Stage(
        "shop_orders_staging",
        ("stg_shop__orders", "stg_shop__order_lines"),
        ("staging.stg_shop__orders", "staging.stg_shop__order_lines"),
        "raw shop orders + lines -> staging (phones E.164, reporting currency)",
    ),
    Stage(
        "order_facts",
        (
            "int_order_lines_unioned",
            "int_orders_unioned",
            "int_order_lines_keyed",
            "int_orders_keyed",
            "fct_orders",
            "fct_order_lines",
        ),
        ("marts.fct_orders", "marts.fct_order_lines"),
        "staging orders, lines, till lines -> fct_orders + fct_order_lines",
    ),
    Stage(
        "customer_rfm",
        ("int_customer_orders_summarised", "int_customer_rfm_scored", "customer_rfm"),
        ("marts.customer_rfm",),
        "fct_orders + customers -> RFM quintiles and named segments",
    ),
    Stage(
        "dim_customers",
        ("int_customers_profiled", "dim_customers"),
        ("marts.dim_customers",),
        "identity graph, survived attributes, orders, events, consent -> golden record",
    ),
)


@dataclass(frozen=True)
class RelationSummary:
    """What two builds of one table must share: columns, types, rows and checksums."""

    columns: tuple[tuple[str, str], ...]
    rows: int
    row_checksum: str
    column_checksums: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputComparison:
    output: str
    dbt_rows: int
    hand_rows: int
    equal: bool
    differences: tuple[str, ...]


@dataclass
class StageResult:
    """One stage's timings (the fastest of `repeat` runs of each variant) and comparison.

    Wall seconds are what a user waits; CPU seconds (all threads of the process) are what the
    work costs and barely move when other jobs share the machine, so the CPU ratio is the
    steadier measure of SQL quality on a busy box.
    """

    stage: str
    models: tuple[str, ...]
    rows: int
    dbt_seconds: float | None = None
    dbt_cpu_seconds: float | None = None
    dbt_empty_cpu_seconds: float | None = None
    dbt_model_seconds: float | None = None
    compiled_seconds: float | None = None
    compiled_cpu_seconds: float | None = None
    hand_seconds: float | None = None
    hand_cpu_seconds: float | None = None
    outputs_equal: bool | None = None
    comparisons: list[OutputComparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        """dbt's model seconds over hand-written seconds (dbt's process start excluded)."""
        return safe_ratio(self.dbt_model_seconds, self.hand_seconds)

    @property
    def wall_ratio(self) -> float | None:
        """The whole `dbt run` invocation (start-up and parsing included) over hand-written."""
        return safe_ratio(self.dbt_seconds, self.hand_seconds)

    @property
    def sql_ratio(self) -> float | None:
        """dbt's compiled SQL run directly over hand-written: the cost of the SQL's shape."""
        return safe_ratio(self.compiled_seconds, self.hand_seconds)

    @property
    def dbt_net_cpu_seconds(self) -> float | None:
        """dbt's CPU seconds less those of the same `dbt run --empty` (start-up, parsing,
        compiling, materialization bookkeeping on zero rows): dbt's CPU spent on the data."""
        if self.dbt_cpu_seconds is None or self.dbt_empty_cpu_seconds is None:
            return None
        return max(self.dbt_cpu_seconds - self.dbt_empty_cpu_seconds, 0.0)

    @property
    def cpu_ratio(self) -> float | None:
        """dbt's net CPU seconds over hand-written CPU seconds."""
        return safe_ratio(self.dbt_net_cpu_seconds, self.hand_cpu_seconds)

    @property
    def sql_cpu_ratio(self) -> float | None:
        """The same in CPU seconds."""
        return safe_ratio(self.compiled_cpu_seconds, self.hand_cpu_seconds)


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def fastest(timings: Sequence[Timing]) -> Timing:
    """The least wall and least CPU seconds over repeats: noise from other jobs only adds."""
    return Timing(min(t.wall for t in timings), min(t.cpu for t in timings))


# ---------------------------------------------------------------------------------- pure parts


def safe_ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def as_of_utc_text(as_of: str) -> str:
    """The ISO `as_of` as the naive UTC literal dbt's `segments_as_of()` renders."""
    parsed = datetime.fromisoformat(as_of.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


def render_hand_written(
    template: str,
    *,
    scratch: str,
    as_of: str,
    rfm_window_days: int = 365,
    reporting_currency: str = "GBP",
    default_country: str = "GB",
) -> str:
    """Fill the placeholders of a hand-written SQL file (`{scratch}`, `{as_of}`, …)."""
    return template.format(
        scratch=scratch,
        as_of=as_of_utc_text(as_of),
        rfm_window_days=int(rfm_window_days),
        reporting_currency=reporting_currency,
        default_country=default_country,
    )


def select_stages(names: Sequence[str] | None, stages: Sequence[Stage] = STAGES) -> list[Stage]:
    """The stages named (all when none), in their build order; unknown names are an error."""
    if not names:
        return list(stages)
    known = {stage.name: stage for stage in stages}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; known stages: {sorted(known)}")
    return [stage for stage in stages if stage.name in set(names)]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def summary_query(relation: str, columns: Sequence[str]) -> str:
    """One scan: row count, a checksum per column and one over whole rows.

    Values are hashed as text so a checksum compares values, not storage; summing the hashes
    makes it independent of row order while still counting duplicates.
    """
    as_text = [f"cast({quote_identifier(c)} as varchar)" for c in columns]
    per_column = ", ".join(f"cast(sum(hash({t})) as varchar)" for t in as_text)
    whole_row = f"cast(sum(hash({', '.join(as_text)})) as varchar)"
    return f"select count(*), {whole_row}, {per_column} from {relation}"


def compare_summaries(output: str, dbt: RelationSummary, hand: RelationSummary) -> OutputComparison:
    """Every way the hand-written table differs from dbt's, in words a reader can act on."""
    differences: list[str] = []
    dbt_types, hand_types = dict(dbt.columns), dict(hand.columns)
    missing = [c for c in dbt_types if c not in hand_types]
    extra = [c for c in hand_types if c not in dbt_types]
    if missing:
        differences.append(f"hand-written lacks columns {missing}")
    if extra:
        differences.append(f"hand-written has extra columns {extra}")
    for column, dbt_type in dbt_types.items():
        if column in hand_types and hand_types[column] != dbt_type:
            differences.append(f"{column}: type {hand_types[column]} (dbt: {dbt_type})")
    if dbt.rows != hand.rows:
        differences.append(f"rows {hand.rows:,} (dbt: {dbt.rows:,})")
    differing_values = [
        column
        for column, checksum in dbt.column_checksums.items()
        if column in hand.column_checksums and hand.column_checksums[column] != checksum
    ]
    if differing_values:
        differences.append(f"values differ in {differing_values}")
    elif dbt.row_checksum != hand.row_checksum and not missing and not extra:
        differences.append("row checksums differ (values pair up differently across rows)")
    return OutputComparison(output, dbt.rows, hand.rows, not differences, tuple(differences))


def format_table(results: Iterable[StageResult], title: str) -> str:
    """The side-by-side table printed at the end of a run."""

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    def ratio(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}x"

    header = (
        f"{'stage':<21}{'rows':>11}{'dbt run':>9}{'dbt model':>10}{'compiled':>9}{'hand':>7}"
        f"{'dbt/hand':>9}{'sql/hand':>9}{'cpu dbt/hand':>13}{'cpu sql/hand':>13}  equal"
    )
    lines = [title, header, "-" * len(header)]
    for r in results:
        equal = {True: "yes", False: "NO", None: "-"}[r.outputs_equal]
        flag = " <- slow" if (r.ratio or 0) > SLOW_RATIO else ""
        lines.append(
            f"{r.stage:<21}{r.rows:>11,}{seconds(r.dbt_seconds):>9}"
            f"{seconds(r.dbt_model_seconds):>10}{seconds(r.compiled_seconds):>9}"
            f"{seconds(r.hand_seconds):>7}{ratio(r.ratio):>9}{ratio(r.sql_ratio):>9}"
            f"{ratio(r.cpu_ratio):>13}{ratio(r.sql_cpu_ratio):>13}  {equal}{flag}"
        )
        for comparison in r.comparisons:
            for difference in comparison.differences:
                lines.append(f"    {comparison.output}: {difference}")
        lines.extend(f"    note: {note}" for note in r.notes)
    lines.append(
        "seconds, wall clock. dbt run = the whole `dbt run --select` (start-up, parsing"
        " included); dbt model = first model start to last model end; compiled = dbt's SQL"
        " run directly; hand = hand-written DuckDB SQL. dbt/hand uses dbt model. cpu dbt/hand:"
        " CPU of `dbt run` less CPU of `dbt run --empty`, over hand-written CPU."
    )
    return "\n".join(lines)


def result_to_json(result: StageResult) -> dict[str, object]:
    data = asdict(result)
    data.update(
        ratio=result.ratio,
        sql_ratio=result.sql_ratio,
        sql_cpu_ratio=result.sql_cpu_ratio,
        cpu_ratio=result.cpu_ratio,
        dbt_net_cpu_seconds=result.dbt_net_cpu_seconds,
        wall_ratio=result.wall_ratio,
    )
    return data


# ---------------------------------------------------------------------------------- I/O parts


@dataclass(frozen=True)
class CompiledModel:
    name: str
    relation: str
    materialized: str
    sql: str


def dbt_environment(warehouse: Path, as_of: str, memory_limit: str) -> dict[str, str]:
    return {
        **os.environ,
        "CUSTOMER360_WAREHOUSE": str(warehouse),
        "CUSTOMER360_AS_OF": as_of,
        "CUSTOMER360_DUCKDB_MEMORY_LIMIT": memory_limit,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_command(verb: str, models: Sequence[str], work_dir: Path) -> list[str]:
    return [
        dbt_executable(),
        verb,
        "--quiet",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
        "--select",
        *models,
    ]


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_dbt(
    verb: str,
    models: Sequence[str],
    work_dir: Path,
    env: dict[str, str],
    extra: Sequence[str] = (),
) -> Timing:
    """Run one dbt command; its wall and CPU seconds, or an error carrying dbt's output."""
    started, cpu_started = time.perf_counter(), children_cpu_seconds()
    completed = subprocess.run(
        [*dbt_command(verb, models, work_dir), *extra], env=env, capture_output=True, text=True
    )
    timing = Timing(time.perf_counter() - started, children_cpu_seconds() - cpu_started)
    if completed.returncode != 0:
        raise RuntimeError(
            f"dbt {verb} --select {' '.join(models)} failed (exit {completed.returncode}):\n"
            f"{completed.stdout[-4000:]}{completed.stderr[-4000:]}"
        )
    return timing


def compiled_models(work_dir: Path, models: Sequence[str]) -> dict[str, CompiledModel]:
    """The compiled SQL, relation and materialization of each model, from dbt's manifest."""
    manifest = json.loads((work_dir / "target" / "manifest.json").read_text())
    wanted = set(models)
    found: dict[str, CompiledModel] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] in wanted:
            if not node.get("compiled_code"):
                raise RuntimeError(f"dbt compile left no SQL for model {node['name']}")
            found[node["name"]] = CompiledModel(
                node["name"],
                node["relation_name"],
                node["config"]["materialized"],
                node["compiled_code"],
            )
    missing = wanted - set(found)
    if missing:
        raise RuntimeError(f"models not in the dbt project: {sorted(missing)}")
    return found


def dbt_model_seconds(work_dir: Path, models: Sequence[str]) -> float:
    """Seconds from the first of `models` starting to the last finishing, per the last
    run_results.json: dbt's time on the models without its start-up. A span, not a sum,
    because dbt builds independent models side by side (`threads` in profiles.yml)."""
    results = json.loads((work_dir / "target" / "run_results.json").read_text())["results"]
    by_model = {r["unique_id"].split(".")[-1]: r for r in results}
    failed = [name for name in models if by_model.get(name, {}).get("status") != "success"]
    if failed:
        raise RuntimeError(f"dbt run did not build {failed}")
    return model_span_seconds([by_model[name] for name in models])


def model_span_seconds(results: Sequence[dict]) -> float:
    """The span of the compile and execute timings of run_results entries; the sum of their
    execution times when timings are missing."""
    stamps = [
        (datetime.fromisoformat(t["started_at"]), datetime.fromisoformat(t["completed_at"]))
        for r in results
        for t in r.get("timing", [])
        if t.get("started_at") and t.get("completed_at")
    ]
    if not stamps:
        return sum(float(r["execution_time"]) for r in results)
    return (max(end for _, end in stamps) - min(start for start, _ in stamps)).total_seconds()


def connect(warehouse: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """A connection set up as dbt's is (same memory limit), with UTC as the session zone."""
    connection = open_warehouse(warehouse, memory_limit=memory_limit)
    connection.execute("set TimeZone = 'UTC'")
    return connection


def timed(connection: duckdb.DuckDBPyConnection, sql: str) -> Timing:
    started, cpu_started = time.perf_counter(), time.process_time()
    connection.execute(sql)
    return Timing(time.perf_counter() - started, time.process_time() - cpu_started)


def summarise(connection: duckdb.DuckDBPyConnection, relation: str) -> RelationSummary:
    described = connection.execute(f"describe {relation}").fetchall()
    columns = tuple((str(row[0]), str(row[1])) for row in described)
    names = [name for name, _ in columns]
    row = connection.execute(summary_query(relation, names)).fetchall()[0]
    checksums = dict(zip(names, (str(value) for value in row[2:]), strict=True))
    return RelationSummary(columns, int(row[0]), str(row[1]), checksums)


def warm_up(connection: duckdb.DuckDBPyConnection, models: dict[str, CompiledModel]) -> None:
    """Read every relation the stage's models read once, untimed, so no variant pays for a
    cold OS page cache that the next one then enjoys."""
    relations: set[str] = set()
    for model in models.values():
        relations.update(
            token.rstrip(",)")
            for token in model.sql.split()
            if token.startswith('"') and token.count('"."') == 2
        )
    for relation in sorted(relations - {m.relation for m in models.values()}):
        connection.execute(f"select count(*), sum(hash(t)) from {relation} as t").fetchall()


def run_compiled(warehouse: Path, memory_limit: str, models: Sequence[CompiledModel]) -> Timing:
    """The stage's compiled SQL, model by model, into the scratch schema. A chain's later
    models read the warehouse's existing upstream tables, which hold the same rows, so no
    real relation is overwritten."""
    connection = connect(warehouse, memory_limit)
    try:
        connection.execute(f"create schema if not exists {COMPILED_SCHEMA}")
        timings = [
            timed(connection, f"create or replace table {COMPILED_SCHEMA}.{m.name} as ({m.sql})")
            for m in models
        ]
    finally:
        connection.close()
    return Timing(sum(t.wall for t in timings), sum(t.cpu for t in timings))


def run_hand_written(warehouse: Path, memory_limit: str, sql: str) -> Timing:
    connection = connect(warehouse, memory_limit)
    try:
        connection.execute(f"create schema if not exists {HAND_SCHEMA}")
        return timed(connection, sql)
    finally:
        connection.close()


def measure_stage(
    stage: Stage,
    compiled: dict[str, CompiledModel],
    warehouse: Path,
    work_dir: Path,
    env: dict[str, str],
    *,
    as_of: str,
    rfm_window_days: int,
    memory_limit: str,
    repeat: int = 1,
) -> StageResult:
    """Compiled SQL, hand-written SQL and `dbt run`, `repeat` times in turn (each on a fresh
    connection, after an untimed read of the inputs), then the output comparison.

    `compiled` holds every stage model's compiled SQL, read before any `dbt run` (which
    rewrites the manifest with only its own selection compiled)."""
    models = [compiled[name] for name in stage.models]
    hand_sql = render_hand_written(
        stage.sql_file.read_text(),
        scratch=HAND_SCHEMA,
        as_of=as_of,
        rfm_window_days=rfm_window_days,
    )
    connection = connect(warehouse, memory_limit)
    try:
        warm_up(connection, {m.name: m for m in models})
    finally:
        connection.close()

    compiled_runs, hand_runs, dbt_runs, dbt_model_runs, empty_runs = [], [], [], [], []
    for _ in range(max(1, repeat)):
        compiled_runs.append(run_compiled(warehouse, memory_limit, models))
        hand_runs.append(run_hand_written(warehouse, memory_limit, hand_sql))
        # `--empty` (zero-row inputs) first: it leaves empty tables, which the real run replaces.
        empty_runs.append(run_dbt("run", stage.models, work_dir, env, ["--empty"]))
        dbt_runs.append(run_dbt("run", stage.models, work_dir, env))
        dbt_model_runs.append(dbt_model_seconds(work_dir, stage.models))
    compiled_time, hand_time, dbt_time = (
        fastest(compiled_runs),
        fastest(hand_runs),
        fastest(dbt_runs),
    )
    result = StageResult(
        stage.name,
        stage.models,
        rows=0,
        dbt_seconds=dbt_time.wall,
        dbt_cpu_seconds=dbt_time.cpu,
        dbt_empty_cpu_seconds=fastest(empty_runs).cpu,
        dbt_model_seconds=min(dbt_model_runs),
        compiled_seconds=compiled_time.wall,
        compiled_cpu_seconds=compiled_time.cpu,
        hand_seconds=hand_time.wall,
        hand_cpu_seconds=hand_time.cpu,
    )

    connection = connect(warehouse, memory_limit)
    try:
        for view in (m for m in models if m.materialized == "view"):
            # A view costs nothing to create; its readers pay. Charge dbt one full read.
            read_all = f"create or replace temp table view_read as select * from {view.relation}"
            read = timed(connection, read_all)
            result.dbt_seconds = (result.dbt_seconds or 0) + read.wall
            result.dbt_cpu_seconds = (result.dbt_cpu_seconds or 0) + read.cpu
            result.dbt_model_seconds = (result.dbt_model_seconds or 0) + read.wall
            result.notes.append(f"{view.name} is a view: {read.wall:.2f}s to read it added to dbt")
        connection.execute("drop table if exists view_read")
        compare_outputs(connection, stage, result)
    finally:
        connection.close()
    return result


def compare_outputs(
    connection: duckdb.DuckDBPyConnection, stage: Stage, result: StageResult
) -> None:
    """Each dbt-built output against its hand-written twin; fills rows and the verdict."""
    for output in stage.outputs:
        model = output.split(".")[-1]
        dbt_summary = summarise(connection, output)
        hand_summary = summarise(connection, f"{HAND_SCHEMA}.{model}")
        result.comparisons.append(compare_summaries(model, dbt_summary, hand_summary))
        result.rows += dbt_summary.rows
    result.outputs_equal = all(c.equal for c in result.comparisons)


def check_hand_written(
    warehouse: Path,
    stages: Sequence[Stage],
    *,
    as_of: str = DEFAULT_AS_OF,
    rfm_window_days: int = 365,
    memory_limit: str | None = None,
    keep_scratch: bool = False,
) -> list[StageResult]:
    """Run only the hand-written SQL and compare it with the tables dbt already built there
    (no dbt, nothing of dbt's rebuilt): a quick check that the yardstick still measures the
    same thing as the models, e.g. after a model gained a column."""
    memory_limit = memory_limit or get_settings().duckdb_memory_limit
    results: list[StageResult] = []
    try:
        for stage in stages:
            sql = render_hand_written(
                stage.sql_file.read_text(),
                scratch=HAND_SCHEMA,
                as_of=as_of,
                rfm_window_days=rfm_window_days,
            )
            hand = run_hand_written(warehouse, memory_limit, sql)
            result = StageResult(
                stage.name,
                stage.models,
                rows=0,
                hand_seconds=hand.wall,
                hand_cpu_seconds=hand.cpu,
            )
            connection = connect(warehouse, memory_limit)
            try:
                compare_outputs(connection, stage, result)
            finally:
                connection.close()
            results.append(result)
    finally:
        if not keep_scratch:
            drop_scratch(warehouse, memory_limit)
    return results


def drop_scratch(warehouse: Path, memory_limit: str) -> None:
    connection = connect(warehouse, memory_limit)
    try:
        for schema in (COMPILED_SCHEMA, HAND_SCHEMA):
            connection.execute(f"drop schema if exists {schema} cascade")
    finally:
        connection.close()


def run_yardstick(
    warehouse: Path,
    stages: Sequence[Stage],
    *,
    as_of: str = DEFAULT_AS_OF,
    rfm_window_days: int = 365,
    memory_limit: str | None = None,
    keep_scratch: bool = False,
    repeat: int = 1,
    progress: bool = True,
) -> list[StageResult]:
    """Measure `stages` on `warehouse` (which `dbt run` rebuilds in place) and compare outputs."""
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}")
    memory_limit = memory_limit or get_settings().duckdb_memory_limit
    env = dbt_environment(warehouse, as_of, memory_limit)
    all_models = [model for stage in stages for model in stage.models]
    results: list[StageResult] = []
    with tempfile.TemporaryDirectory(prefix="sql-yardstick-") as tmp:
        work_dir = Path(tmp)
        run_dbt("compile", all_models, work_dir, env)
        compiled = compiled_models(work_dir, all_models)
        try:
            for stage in stages:
                if progress:
                    print(f"measuring {stage.name} ({', '.join(stage.models)}) …", flush=True)
                results.append(
                    measure_stage(
                        stage,
                        compiled,
                        warehouse,
                        work_dir,
                        env,
                        as_of=as_of,
                        rfm_window_days=rfm_window_days,
                        memory_limit=memory_limit,
                        repeat=repeat,
                    )
                )
        finally:
            if not keep_scratch:
                drop_scratch(warehouse, memory_limit)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="DuckDB file to measure on")
    parser.add_argument(
        "--stages",
        nargs="*",
        default=None,
        help=f"stages to run (default all): {', '.join(s.name for s in STAGES)}",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON result path")
    parser.add_argument("--as-of", default=get_settings().as_of, help="dbt as_of")
    parser.add_argument("--rfm-window-days", type=int, default=365)
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory limit (both sides)")
    parser.add_argument("--keep-scratch", action="store_true", help="keep the scratch schemas")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each variant; the fastest counts"
    )
    parser.add_argument(
        "--check-only",
        action="store_true",
        help="no dbt: run the hand-written SQL and compare it with the tables already built",
    )
    args = parser.parse_args(argv)

    warehouse = args.warehouse.resolve()
    try:
        stages = select_stages(args.stages)
    except ValueError as error:
        parser.error(str(error))
    if not warehouse.exists():
        parser.error(f"no warehouse at {warehouse}")
    if args.check_only:
        results = check_hand_written(
            warehouse,
            stages,
            as_of=args.as_of,
            rfm_window_days=args.rfm_window_days,
            memory_limit=args.memory_limit,
            keep_scratch=args.keep_scratch,
        )
    else:
        results = run_yardstick(
            warehouse,
            stages,
            as_of=args.as_of,
            rfm_window_days=args.rfm_window_days,
            memory_limit=args.memory_limit,
            keep_scratch=args.keep_scratch,
            repeat=args.repeat,
        )
    print(format_table(results, f"SQL yardstick on {warehouse}"))
    out = args.out or warehouse.with_name("sql_yardstick.json")
    out.write_text(
        json.dumps(
            {
                "warehouse": str(warehouse),
                "as_of": args.as_of,
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "stages": [result_to_json(r) for r in results],
            },
            indent=2,
            default=str,
        )
    )
    print(f"wrote {out}")
    return 0 if all(r.outputs_equal for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
