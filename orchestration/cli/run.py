"""`customer360 demo | run | backfill | summary`: build the warehouse, or part of it.

Runs go through the same Dagster definitions as the scheduler and the UI, in this process,
and are recorded in the Dagster instance under `DAGSTER_HOME` (`.dagster_home` by default),
so `make ui` shows every materialisation, check and its metadata straight afterwards.

The terminal gets a progress bar and a short summary; Dagster's and dbt's logs go to a log
file under `<warehouse dir>/logs/`, named at the end (`-v` shows them as they happen). A
failed step exits 1 with one paragraph saying what failed and what to do.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orchestration.cli.common import WarehouseOption, fail, settings_for
from orchestration.run_lock import WarehouseBusy, hold_run_lock
from orchestration.settings import (
    AS_OF_TAG,
    PROJECT_ROOT,
    SAMPLE_LANDING_DIR,
    SAMPLE_NEXT_DAY_DIR,
    Settings,
    dagster_home,
)
from python_models.warehouse import connect

if TYPE_CHECKING:
    import dagster as dg

SUMMARY_SCHEMAS = ("marts", "identity", "models", "dq", "quarantine", "audit")
INSTANCE_CONFIG = PROJECT_ROOT / "orchestration" / "dagster.yaml"
LAUNCHED_BY_TAG = "customer360/launched_by"
# The tables whose sizes the demo's summary names: what a newcomer asks about first.
HEADLINE_TABLES = {
    "marts": ("dim_customers", "fct_orders", "fct_events", "segment_membership"),
    "identity": ("identity_graph",),
    "models": ("customer_clusters",),
}

WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        help="seconds to wait for another run on the same warehouse to finish (0: fail at once)",
    ),
]
VerboseOption = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="show Dagster's and dbt's logs as they happen"),
]


def load_definitions() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs() if callable(defs) else defs


@contextlib.contextmanager
def run_instance() -> Iterator[dg.DagsterInstance]:
    """The Dagster instance under DAGSTER_HOME (made on first use), where the UI looks."""
    import dagster as dg

    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(INSTANCE_CONFIG, home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


def selection_job(definitions: dg.Definitions, selection: str) -> dg.JobDefinition:
    """The job that runs a selection: the project's `full_pipeline` for '*', else ad hoc."""
    import dagster as dg

    if selection.strip() == "*":
        return definitions.resolve_job_def("full_pipeline")
    with warnings.catch_warnings():  # from_string is marked beta; the syntax is documented
        warnings.simplefilter("ignore", dg.BetaWarning)
        asset_selection = dg.AssetSelection.from_string(selection)
    job = dg.define_asset_job("customer360_cli", selection=asset_selection)
    return dg.Definitions.merge(definitions, dg.Definitions(jobs=[job])).resolve_job_def(
        "customer360_cli"
    )


def materialize(
    selection: str = "*",
    *,
    instance: dg.DagsterInstance | None = None,
    tags: dict[str, str] | None = None,
    run_id: str | None = None,
    log_level: str = "INFO",
) -> dg.ExecuteInProcessResult:
    """Materialise the assets matching a Dagster selection string in this process.

    The run is recorded in `instance`, or in the one under DAGSTER_HOME when none is given.
    """
    return execute_job(
        selection_job(load_definitions(), selection),
        instance=instance,
        tags=tags,
        run_id=run_id,
        log_level=log_level,
    )


def execute_job(
    job: dg.JobDefinition,
    *,
    instance: dg.DagsterInstance | None = None,
    tags: dict[str, str] | None = None,
    run_id: str | None = None,
    log_level: str = "INFO",
    partition_key: str | None = None,
) -> dg.ExecuteInProcessResult:
    """Run `job` in this process; `partition_key` (a delivery day) only when the job has
    partitioned assets (the clickstream and order extracts) in it."""
    with contextlib.ExitStack() as stack:
        if instance is None:
            instance = stack.enter_context(run_instance())
        return job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_id=run_id,
            partition_key=partition_key if job.partitions_def is not None else None,
            tags={LAUNCHED_BY_TAG: "cli", **(tags or {})},
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )


class _Tee:
    """A text stream writing to several streams (the log file, and the terminal with -v)."""

    def __init__(self, *streams: IO[str]) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()

    def isatty(self) -> bool:  # keeps colour codes out of the log file
        return False


@dataclass
class RunReport:
    """What one run did, for the summary and the exit code."""

    run_id: str
    seconds: float
    success: bool
    assets: int = 0
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)  # severity ERROR
    checks_warned: list[str] = field(default_factory=list)  # severity WARN
    failures: list[tuple[str, str]] = field(default_factory=list)  # (step, first line)


def report_of(result: dg.ExecuteInProcessResult, seconds: float) -> RunReport:
    import dagster as dg

    report = RunReport(run_id=result.run_id, seconds=seconds, success=result.success)
    for event in result.all_events:
        if event.is_step_materialization:
            report.assets += 1
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            name = evaluation.asset_check_key.to_user_string()
            if evaluation.passed:
                report.checks_passed += 1
            elif evaluation.severity == dg.AssetCheckSeverity.WARN:
                report.checks_warned.append(name)
            else:
                report.checks_failed.append(name)
        elif event.is_step_failure:
            from orchestration.defs.sensors import root_cause

            message = root_cause(event.step_failure_data.error).splitlines() or ["(no message)"]
            report.failures.append((event.step_key or "?", message[0][:300]))
    return report


def _watch_progress(
    instance: dg.DagsterInstance, run_id: str, progress: Progress, task: Any, done: threading.Event
) -> None:
    """Move the progress bar as the run's steps start and its assets materialise."""
    import dagster as dg

    kinds = {
        dg.DagsterEventType.ASSET_MATERIALIZATION,
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_FAILURE,
    }
    cursor = None
    while True:
        finished = done.is_set()
        try:
            connection = instance.get_records_for_run(run_id, cursor=cursor, of_type=kinds)
        except Exception:  # the run may not exist yet; progress is best effort
            connection = None
        if connection is not None:
            cursor = connection.cursor
            for record in connection.records:
                event = record.event_log_entry.dagster_event
                if event is None:
                    continue
                if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                    progress.advance(task)
                elif event.event_type == dg.DagsterEventType.STEP_START:
                    progress.update(task, description=f"{event.step_key}")
                else:
                    progress.update(task, description=f"[red]failed: {event.step_key}")
            if connection.has_more:
                continue
        if finished:
            return
        done.wait(0.5)


def log_path_for(settings: Settings, label: str) -> Path:
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    return settings.log_dir / f"{label}-{datetime.now():%Y%m%d-%H%M%S}.log"


def execute(
    selection: str,
    settings: Settings,
    *,
    log_file: IO[str],
    verbose: bool,
    out: Console,
    label: str,
    tags: dict[str, str] | None = None,
    partition_key: str | None = None,
) -> RunReport:
    """One recorded run of `selection`, its logs in `log_file`, a progress bar on `out`."""
    os.environ.setdefault("DBT_USE_COLORS", "false")  # dbt's lines are read in a log file
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    terminal = sys.stdout
    sink: IO[str] = _Tee(terminal, log_file) if verbose else log_file  # type: ignore[assignment]
    run_id = str(uuid.uuid4())
    started = time.perf_counter()
    with run_instance() as instance, contextlib.ExitStack() as stack:
        done = threading.Event()
        problem = None
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):  # type: ignore[type-var]
            try:
                job = selection_job(load_definitions(), selection)  # may run `dbt parse`
                total = sum(
                    1
                    for node in job.graph.node_dict.values()
                    for _ in getattr(node.definition, "output_defs", [])
                )
                if total == 0:
                    problem = ValueError("it matches no asset")
            except Exception as error:  # a selection that does not parse or resolve
                problem = error
        if problem is not None:
            cause = problem.__cause__ or problem
            first_line = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
            fail(
                f"cannot run selection {selection!r}: {first_line}. Write a Dagster asset "
                "selection such as 'group:marts', 'key:\"marts/dim_customers\"' or "
                "'+key:\"marts/dim_customers\"' (with its upstream); `dg list defs` lists "
                "the assets."
            )
        if not verbose:
            progress = stack.enter_context(
                Progress(
                    TextColumn(f"{label:<10}"),
                    BarColumn(bar_width=30),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    TextColumn("{task.description}", style="dim"),
                    console=out,
                    redirect_stdout=False,
                    redirect_stderr=False,
                    transient=not out.is_terminal,
                )
            )
            task = progress.add_task("starting", total=total or None)
            watcher = threading.Thread(
                target=_watch_progress,
                args=(instance, run_id, progress, task, done),
                daemon=True,
            )
            watcher.start()
        try:
            with (
                contextlib.redirect_stdout(sink),  # type: ignore[type-var]
                contextlib.redirect_stderr(sink),  # type: ignore[type-var]
                warnings.catch_warnings(),
            ):
                warnings.simplefilter("default")
                result = execute_job(
                    job, instance=instance, tags=tags, run_id=run_id, partition_key=partition_key
                )
        finally:
            done.set()
            if not verbose:
                watcher.join(timeout=10)
    return report_of(result, time.perf_counter() - started)


def table_counts(
    database: Path, memory_limit: str, schemas: tuple[str, ...] = SUMMARY_SCHEMAS
) -> list[tuple[str, str, int]]:
    """(schema, table, rows) for every table in the given schemas, in name order."""
    with connect(database, memory_limit=memory_limit, read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?)) and table_type = 'BASE TABLE' "
            "order by 1, 2",
            [list(schemas)],
        ).fetchall()
        return [
            (schema, table, con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0])
            for schema, table in tables
        ]


def print_summary(settings: Settings) -> None:
    """Every mart and output table with its row count (`customer360 summary`)."""
    database = settings.warehouse
    print(f"\nWarehouse: {database}")
    print(f"{'table':<48}{'rows':>12}")
    for schema, table, rows in table_counts(database, settings.duckdb_memory_limit):
        print(f"{schema + '.' + table:<48}{rows:>12,}")
    snapshot = settings.analyst_snapshot
    print(
        f"\nQuery the analyst snapshot {snapshot} (the last complete run; keep it open all day,\n"
        "runs publish a new one beside it and never wait for you):\n"
        f"  .venv/bin/duckdb -readonly {snapshot} -c 'from marts.segment_summary'\n"
        "Analyst recipes: docs/cookbook.md · table meanings: docs/data-dictionary.md · "
        f"data-quality report: {settings.quality().scorecard_path}"
    )


def schema_lines(counts: list[tuple[str, str, int]]) -> list[str]:
    """One line per schema: its tables, its rows, and the sizes of its headline tables."""
    lines = []
    for schema in SUMMARY_SCHEMAS:
        mine = [(table, rows) for s, table, rows in counts if s == schema]
        if not mine:
            continue
        sizes = dict(mine)
        named = " · ".join(
            f"{t} {sizes[t]:,}" for t in HEADLINE_TABLES.get(schema, ()) if t in sizes
        )
        total = sum(rows for _, rows in mine)
        lines.append(
            f"  {schema:<11}{len(mine):>3} tables {total:>11,} rows"
            + (f"   {named}" if named else "")
        )
    return lines


def identity_runs(database: Path, memory_limit: str, run_ids: list[str]) -> list[dict]:
    """The identity run reports (`identity.identity_runs`) of these Dagster runs, oldest
    first; none when identity resolution did not run in them."""
    with connect(database, memory_limit=memory_limit, read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'identity' and table_name = 'identity_runs'"
        ).fetchone()[0]
        if not exists or not run_ids:
            return []
        rows = con.execute(
            "select report from identity.identity_runs where list_contains(?, run_id) "
            "order by finished_at",
            [run_ids],
        ).fetchall()
    return [json.loads(row[0]) for row in rows]


def identity_lines(runs: list[dict]) -> list[str]:
    """Per identity run: records, customers and review queue, and what its guards did."""
    from python_models.identity.guards import guard_summary

    return [
        f"  identity   {run['records']:,} records -> {run['clusters']:,} customers, "
        f"review queue {run['review_queue']:,}\n"
        f"             guards: {guard_summary(run.get('guards') or {})}"
        for run in runs
    ]


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{seconds:.1f}s"


def print_run_line(out: Console, label: str, report: RunReport) -> None:
    status = "[green]ok[/]" if report.success else "[bold red]FAILED[/]"
    checks = f"{report.checks_passed} checks passed"
    if report.checks_warned:
        checks += f", [yellow]{len(report.checks_warned)} warned[/]"
    if report.checks_failed:
        checks += f", [red]{len(report.checks_failed)} failed[/]"
    out.print(
        f"{label:<10} {status}  {report.assets} assets, {checks} in {_duration(report.seconds)}"
        f"  [dim](run {report.run_id[:8]})[/]"
    )


def failure_paragraph(report: RunReport, log: Path, command: str) -> str:
    """What failed and what to do, in one paragraph."""
    if report.failures:
        step, message = report.failures[0]
        more = f" (and {len(report.failures) - 1} more)" if len(report.failures) > 1 else ""
        what = f"Step {step}{more} failed: {message}"
    else:
        what = (
            "The run failed without a failed step "
            f"(failed checks: {', '.join(report.checks_failed) or 'none'})"
        )
    return (
        f"{what}. Read the full Dagster and dbt output in {log} (or re-run with -v), or open "
        f"run {report.run_id[:8]} in the UI (`make ui`). Fix the cause, then run "
        f"`{command}` again: loaded files are not loaded twice, and finished assets are rebuilt "
        "from what the warehouse holds."
    )


def print_outcome(
    out: Console, settings: Settings, reports: list[RunReport], log: Path, command: str
) -> int:
    """The closing summary; returns the exit code (1 when any run failed)."""
    failed = [r for r in reports if not r.success]
    last = reports[-1]
    if last.checks_failed:
        out.print(f"  [red]failed checks:[/] {', '.join(last.checks_failed)}")
    if last.checks_warned:
        out.print(
            f"  [yellow]warnings[/] (rows kept, see `customer360 quality report`): "
            f"{', '.join(last.checks_warned)}"
        )
    if settings.warehouse.is_file():
        out.print(f"Warehouse {settings.warehouse}")
        for line in schema_lines(table_counts(settings.warehouse, settings.duckdb_memory_limit)):
            out.print(line)
        runs = identity_runs(
            settings.warehouse, settings.duckdb_memory_limit, [r.run_id for r in reports]
        )
        for line in identity_lines(runs):
            out.print(line, markup=False)
    out.print(
        "Next: [bold]make ui[/] shows these runs (http://127.0.0.1:3000) · "
        "docs/cookbook.md has analyst queries · `customer360 summary` lists every table"
    )
    out.print(f"Log (Dagster and dbt output): {log}")
    if failed:
        errors = Console(stderr=True, highlight=False, soft_wrap=True)
        errors.print(f"[bold red]error:[/] {failure_paragraph(failed[0], log, command)}")
        return 1
    return 0


def run_days(
    selection: str,
    settings: Settings,
    days: list[tuple[str, Settings]],
    *,
    verbose: bool,
    label_prefix: str,
    command: str,
    wait_seconds: float = 0.0,
    by_delivery_day: bool = False,
) -> int:
    """Run `selection` once per (label, settings) in order, under the warehouse's run lock
    (another run on it: exit 3 at once, or after `wait_seconds`); summary and exit code.

    `by_delivery_day`: each run is the partition of its as-of day, so the clickstream and
    order extracts load that day's delivery only (decision 0015)."""
    out = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    log = log_path_for(settings, label_prefix)
    reports: list[RunReport] = []
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock = hold_run_lock(settings.warehouse, wait_seconds=wait_seconds, command=command)
        with lock, log.open("w", encoding="utf-8") as log_file:
            run_each(
                selection,
                days,
                log_file,
                reports,
                verbose=verbose,
                out=out,
                by_delivery_day=by_delivery_day,
            )
    except WarehouseBusy as busy:
        fail(str(busy), code=3)
    return print_outcome(out, settings, reports, log, command)


def run_each(
    selection: str,
    days: list[tuple[str, Settings]],
    log_file: IO[str],
    reports: list[RunReport],
    *,
    verbose: bool,
    out: Console,
    by_delivery_day: bool = False,
) -> None:
    """The runs of `run_days`, in order, until one fails."""
    for label, day_settings in days:
        day_settings.apply_to_environment()
        tags = {AS_OF_TAG: day_settings.as_of} if day_settings.as_of_is_explicit else {}
        partition_key = day_settings.as_of[:10] if by_delivery_day else None
        log_file.write(
            f"===== {label}: {selection} as of {day_settings.as_of}"
            f"{f', delivery day {partition_key}' if partition_key else ''} =====\n"
        )
        report = execute(
            selection,
            day_settings,
            log_file=log_file,
            verbose=verbose,
            out=out,
            label=label,
            tags=tags,
            partition_key=partition_key,
        )
        log_file.flush()
        print_run_line(out, label, report)
        reports.append(report)
        if not report.success:
            break


def demo_command(
    warehouse: WarehouseOption = None, verbose: VerboseOption = False, wait: WaitOption = 0.0
) -> None:
    """Build the warehouse from the committed sample's two days, then summarise it.

    Day one is seeds/sample, day two its next delivery (seeds/sample_day2); with another
    landing folder (CUSTOMER360_LANDING_DIR) the demo builds that once.

    Example: [bold]customer360 demo --warehouse data/warehouse.duckdb[/]
    """
    settings = settings_for(warehouse=warehouse)
    out = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    out.print(f"customer360 demo: {settings.landing_dir} -> {settings.warehouse}")
    days = demo_days(settings)
    code = run_days(
        "*",
        settings,
        days,
        verbose=verbose,
        label_prefix="demo",
        command="make demo",
        wait_seconds=wait,
        by_delivery_day=delivered_on_their_days(days),
    )
    if code == 0:
        for line in experiment_lines(settings.warehouse, settings.duckdb_memory_limit):
            out.print(line)
    raise typer.Exit(code)


def experiment_lines(database: Path, memory_limit: str) -> list[str]:
    """One line per holdout experiment the warehouse has measured: status and verdict."""
    with connect(database, memory_limit=memory_limit, read_only=True) as con:
        known = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'exports' and table_name = 'experiment_results'"
        ).fetchone()[0]
        if not known:
            return []
        rows = con.execute("""
            select experiment, audience, outcome, status, as_of, analysis_date,
                absolute_uplift, ci_low, ci_high, p_value
            from exports.experiment_results
            where is_primary_outcome and arm = 'treatment' and method <> 'cuped_welch_t'
            order by experiment
        """).fetchall()
    lines = []
    for experiment, audience, outcome, status, as_of, analysis, uplift, low, high, p in rows:
        if status == "final":
            verdict = f"{outcome} uplift {uplift:+.3f} [{low:+.3f}, {high:+.3f}], p = {p:.3g}"
        else:
            verdict = f"waiting for the analysis date {analysis}"
        lines.append(f"Experiment {experiment} ({audience}, as of {as_of:%Y-%m-%d}): {verdict}")
    return lines


def builds_sample_days(settings: Settings) -> bool:
    return settings.landing_dir == SAMPLE_LANDING_DIR and SAMPLE_NEXT_DAY_DIR.is_dir()


def delivered_on_their_days(days: list[tuple[str, Settings]]) -> bool:
    """Whether each run's landing folder holds only files delivered on its as-of day (the
    sample's two days do), so each run can be that day's partition and miss no file."""
    from python_models.extract.loader import delivered_on

    return all(
        delivered_on(path) == date.fromisoformat(day_settings.as_of[:10])
        for _, day_settings in days
        for path in day_settings.landing_dir.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    )


def demo_days(settings: Settings) -> list[tuple[str, Settings]]:
    """The demo's runs: the sample's first day, then its second day's delivery, each "as of"
    the midnight its files were delivered, so the second run has entries, exits and merges.
    Another landing folder is built once."""
    if not builds_sample_days(settings):
        return [("build", settings)]
    first = datetime.fromisoformat(settings.as_of)
    second = settings.with_overrides(
        landing_dir=SAMPLE_NEXT_DAY_DIR,
        as_of=(first + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    return [(f"{first:%Y-%m-%d}", settings), (f"{first + timedelta(days=1):%Y-%m-%d}", second)]


SelectionArgument = Annotated[
    str,
    typer.Argument(
        help="Dagster asset selection, e.g. '*', 'group:extract', '+key:\"marts/dim_customers\"'"
    ),
]


def run_command(
    selection: SelectionArgument = "*",
    warehouse: WarehouseOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="'now' for this run, e.g. 2026-11-02T00:00:00"),
    ] = None,
    verbose: VerboseOption = False,
    wait: WaitOption = 0.0,
) -> None:
    """Build the assets matching a Dagster selection (all by default) and run their checks.

    Example: [bold]customer360 run[/] or [bold]customer360 run 'group:extract'[/] or
    [bold]customer360 run '+key:"marts/dim_customers"' --as-of 2026-11-02T00:00:00[/]
    """
    settings = settings_for(warehouse=warehouse)
    if as_of is not None:
        settings = settings.with_overrides(as_of=parse_day_or_time(as_of))
    raise typer.Exit(
        run_days(
            selection,
            settings,
            [("run", settings)],
            verbose=verbose,
            label_prefix="run",
            command=f"customer360 run '{selection}'",
            wait_seconds=wait,
        )
    )


def parse_day_or_time(value: str) -> str:
    """'2026-11-02' or '2026-11-02T06:00:00' as the as-of timestamp string runs use."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date or time; write 2026-11-02 or 2026-11-02T06:00:00"
        ) from None
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def days_between(start: date, end: date) -> list[date]:
    """Every day from start to end, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def backfill_command(
    start: Annotated[str, typer.Option("--from", "--start", help="first day, e.g. 2026-11-01")],
    end: Annotated[str, typer.Option("--to", "--end", help="last day (included), e.g. 2026-11-07")],
    selection: SelectionArgument = "*",
    warehouse: WarehouseOption = None,
    verbose: VerboseOption = False,
    wait: WaitOption = 0.0,
) -> None:
    """Re-run a selection once per day of a date range, each run "as of" that day.

    What the daily schedule would have done on each day: each run is that day's partition,
    so the clickstream and order extracts load that day's delivery (files named
    `..._<day>...`), and segment history, memberships and exports move forward a day per
    run. Stops at the first failed day.

    Example: [bold]customer360 backfill --from 2026-11-01 --to 2026-11-07[/]
    """
    first, last = (date.fromisoformat(parse_day_or_time(d)[:10]) for d in (start, end))
    if last < first:
        raise typer.BadParameter(f"--to {end} is before --from {start}", param_hint="--to")
    settings = settings_for(warehouse=warehouse)
    days = [
        (day.isoformat(), settings.with_overrides(as_of=f"{day.isoformat()}T00:00:00"))
        for day in days_between(first, last)
    ]
    raise typer.Exit(
        run_days(
            selection,
            settings,
            days,
            verbose=verbose,
            label_prefix="backfill",
            command=f"customer360 backfill --from {start} --to {end} '{selection}'",
            wait_seconds=wait,
            by_delivery_day=True,
        )
    )


def publish_command(warehouse: WarehouseOption = None, wait: WaitOption = 0.0) -> None:
    """Publish the analyst snapshot now (each full run does it at its end).

    Example: [bold]customer360 publish --warehouse data/warehouse.duckdb[/]
    """
    from orchestration.cli.common import existing_warehouse, open_warehouse
    from python_models.publish import publish_snapshot

    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    try:
        lock = hold_run_lock(settings.warehouse, wait_seconds=wait, command="customer360 publish")
        with lock, open_warehouse(settings) as con:
            result = publish_snapshot(
                con, settings.analyst_snapshot, run_id="cli-publish", as_of=settings.as_of
            )
    except WarehouseBusy as busy:
        fail(str(busy), code=3)
    print(result.describe())
    print(f"Analysts: .venv/bin/duckdb -readonly {result.path}")


def summary_command(warehouse: WarehouseOption = None) -> None:
    """Row counts of every mart and output table.

    Example: [bold]customer360 summary --warehouse data/warehouse.duckdb[/]
    """
    from orchestration.cli.common import existing_warehouse

    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    print_summary(settings)
