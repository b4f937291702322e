"""Export one audience for one run: files, deltas against the last snapshot, manifest.

`export_audience` is what the Dagster asset and the CLI call. A run writes
`<export_dir>/<audience>/<run_id>/`:

- `<audience>.csv` (or `<audience>_partNNNN.csv` under the destination's size limit), the
  file the email tool imports as it is;
- `<audience>.parquet`, the same rows for analysts (values without the CSV's formula guard);
- `added.csv`, `changed.csv`, `removed.csv` against the audience's last completed run (the
  first run is all `added`); `removed` says why (left the audience, consent withdrawn,
  suppressed, erased, address changed);
- `manifest.json`, last: audience, definition hash, run id, times, rows and sha256 per
  file, members left out by reason, values truncated, dropped and neutralised by rule.

Every file is written under a temporary name and renamed; the warehouse changes
(`exports.export_<audience>`, `exports.audience_snapshots`, `exports.export_runs`,
`exports.experiment_assignments`) are one transaction, committed before the manifest. So a
run that crashes leaves no file that looks complete and no manifest; re-running the same
run id finishes it, and re-running a completed run id changes nothing. A new run id gets a
new folder and never touches an older run's files.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from python_models.activation.audiences import Audience
from python_models.activation.destinations import DESTINATIONS, MERGE_FIELDS
from python_models.activation.files import (
    WrittenFile,
    copy_csv_split,
    copy_parquet,
    remove_temporary_files,
    temporary_name,
)
from python_models.activation.members import (
    EXCLUSION_REASONS,
    ModelColumns,
    WarehouseTables,
    assignment_bucket_sql,
    candidates_sql,
    field_columns,
    formatted_rows,
    members_sql,
    rows_sql,
    sql_literal,
)
from python_models.privacy.tombstones import tombstone_count

MANIFEST_NAME = "manifest.json"
SNAPSHOT_RUNS_KEPT = 3  # per audience; the previous run is all a delta needs
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class ExportRequest:
    """One audience export: which run, "now", where files go, what to read."""

    audience: Audience
    run_id: str
    as_of: datetime
    export_dir: Path
    tables: WarehouseTables = field(default_factory=WarehouseTables)
    #: the HMAC key of the erasure tombstones (settings' privacy key); needed once any exist
    privacy_key: bytes | None = None


@dataclass
class ExportResult:
    manifest: dict[str, Any]
    folder: Path
    reused: bool  # the run id was complete already: nothing was written
    seconds: float = 0.0

    @property
    def exported(self) -> int:
        return int(self.manifest["counts"]["exported"])


def run_folder(export_dir: Path, audience: str, run_id: str) -> Path:
    if not RUN_ID_PATTERN.match(run_id):
        raise ValueError(
            f"run id {run_id!r}: use letters, digits, '.', '_' and '-' only (it names a folder)"
        )
    return export_dir / audience / run_id


def _table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, table = qualified.split(".", 1)
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def _columns(con: duckdb.DuckDBPyConnection, qualified: str) -> set[str]:
    schema, table = qualified.split(".", 1)
    return {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }


def _first(found: set[str], candidates: tuple[str, ...]) -> str | None:
    return next((c for c in candidates if c in found), None)


def detect_models(con: duckdb.DuckDBPyConnection, tables: WarehouseTables) -> ModelColumns:
    """Which optional tables have been written, and their column names."""
    churn = _columns(con, tables.churn_scores)
    recs = _columns(con, tables.recommendations)
    products = _columns(con, tables.products)
    return ModelColumns(
        churn_band=_first(churn, ("risk_band", "churn_risk_band")),
        recommendation_rank=_first(recs, ("rank", "recommendation_rank")),
        recommendation_name=_first(recs, ("product_name", "name")),
        recommendation_product=_first(recs, ("product_id",)),
        product_name=_first(products, ("product_name", "name")),
        clusters=bool(_columns(con, tables.clusters)),
        erased=tombstone_count(con, tables.tombstones) > 0,
    )


def ensure_export_tables(con: duckdb.DuckDBPyConnection, schema: str = "exports") -> None:
    con.execute(f"create schema if not exists {schema}")
    con.execute(f"""
        create table if not exists {schema}.export_runs (
            audience varchar, run_id varchar, destination varchar, definition_hash varchar,
            as_of timestamp, generated_at timestamp, members bigint, exported bigint,
            holdout_control bigint, added bigint, changed bigint, removed bigint,
            previous_run_id varchar, folder varchar, status varchar
        )""")
    con.execute(f"""
        create table if not exists {schema}.audience_snapshots (
            audience varchar, run_id varchar, export_key varchar, customer_key varchar,
            checksum varchar
        )""")
    con.execute(f"""
        create table if not exists {schema}.experiment_assignments (
            experiment varchar, audience varchar, customer_key varchar, arm varchar,
            bucket double, salt varchar, control_share double, assigned_at timestamp,
            first_run_id varchar
        )""")


def _previous_run(
    con: duckdb.DuckDBPyConnection, schema: str, audience: str, run_id: str
) -> str | None:
    row = con.execute(
        f"""select run_id from {schema}.export_runs
            where audience = ? and run_id <> ? and status = 'complete'
            order by generated_at desc, run_id desc limit 1""",
        [audience, run_id],
    ).fetchone()
    return row[0] if row else None


def _check_experiment_unchanged(con: duckdb.DuckDBPyConnection, schema: str, audience: Audience):
    holdout = audience.holdout
    if holdout is None:
        return
    row = con.execute(
        f"""select any_value(salt), any_value(control_share), any_value(audience)
            from {schema}.experiment_assignments where experiment = ?""",
        [holdout.experiment],
    ).fetchone()
    if row and row[0] is not None:
        salt, share, owner = row
        if (
            owner != audience.name
            or salt != holdout.salt
            or abs(share - holdout.control_share) > 1e-12
        ):
            raise ValueError(
                f"audience {audience.name!r}: holdout.experiment {holdout.experiment!r} was "
                f"started by audience {owner!r} with salt {salt!r} and control_share {share}; "
                "changing them mid-experiment would move customers between groups. "
                "Start a new experiment (a new name) instead."
            )


def export_audience(con: duckdb.DuckDBPyConnection, request: ExportRequest) -> ExportResult:
    """Export `request.audience` for `request.run_id`; see the module docstring."""
    started = time.perf_counter()
    audience, tables = request.audience, request.tables
    destination = DESTINATIONS[audience.destination]
    folder = run_folder(request.export_dir, audience.name, request.run_id)
    manifest_path = folder / MANIFEST_NAME
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("definition_hash") != audience.definition_hash():
            raise ValueError(
                f"{manifest_path}: run {request.run_id!r} of audience {audience.name!r} is "
                "complete with another definition; use a new run id"
            )
        return ExportResult(manifest, folder, reused=True)
    folder.mkdir(parents=True, exist_ok=True)
    leftovers = remove_temporary_files(folder)
    for stale in folder.iterdir():  # a crashed attempt's renamed files are rewritten
        if stale.is_file():
            stale.unlink()

    schema = tables.schema
    ensure_export_tables(con, schema)
    _check_experiment_unchanged(con, schema, audience)
    models = detect_models(con, tables)
    as_of = request.as_of.astimezone(UTC).replace(tzinfo=None)
    generated_at = datetime.now(UTC).replace(tzinfo=None)
    previous = _previous_run(con, schema, audience.name, request.run_id)

    con.execute(f"create or replace temp table _act_members as {members_sql(audience, tables)}")
    con.execute(
        "create or replace temp table _act_candidates as "
        + candidates_sql("_act_members", destination, tables, models, request.privacy_key)
    )
    holdout = audience.holdout
    if holdout is not None:
        con.execute(f"""
            create or replace temp table _act_eligible as
            select *, {assignment_bucket_sql(holdout.salt)} as bucket
            from _act_candidates where exclusion is null
        """)
        arm = f"case when bucket < {holdout.control_share!r} then 'control' else 'treatment' end"
        con.execute(
            f"create or replace temp table _act_arms as select *, {arm} as arm from _act_eligible"
        )
        exported_relation = "(select * from _act_arms where arm = 'treatment')"
    else:
        exported_relation = "(select * from _act_candidates where exclusion is null)"

    columns, missing_models = field_columns(audience, destination, models)
    con.execute(
        "create or replace temp table _act_raw as "
        + rows_sql(audience, columns, exported_relation, tables, models)
    )
    formatted = formatted_rows("_act_raw", destination, columns, audience)
    con.execute(f"create or replace temp table _act_rows as {formatted.select}")
    rule_counts: dict[str, int] = {}
    if formatted.counts:
        names = list(formatted.counts)
        values = con.execute(
            "select " + ", ".join(formatted.counts[n] for n in names) + " from _act_raw"
        ).fetchone()
        rule_counts = {n: int(v or 0) for n, v in zip(names, values, strict=True)}

    snapshot_prev = (
        f"(select export_key, customer_key, checksum from {schema}.audience_snapshots "
        f"where audience = {sql_literal(audience.name)} and run_id = {sql_literal(previous)})"
        if previous
        else "(select null::varchar as export_key, null::varchar as customer_key, "
        "null::varchar as checksum where false)"
    )
    con.execute(f"""
        create or replace temp table _act_delta as
        select rows._export_key, 'added' as change
        from _act_rows as rows anti join {snapshot_prev} as prev
            on rows._export_key = prev.export_key
        union all
        select rows._export_key, 'changed'
        from _act_rows as rows inner join {snapshot_prev} as prev
            on rows._export_key = prev.export_key and rows._checksum <> prev.checksum
    """)
    holdout_reason = "'holdout_control'" if holdout is not None else "null"
    arms_join = (
        "left join _act_arms as arms on arms.customer_key = prev.customer_key"
        if holdout is not None
        else ""
    )
    arm_check = "when arms.arm = 'control' then " + holdout_reason if holdout is not None else ""
    con.execute(f"""
        create or replace temp table _act_removed as
        select
            prev.export_key as _export_key,
            prev.customer_key as _customer_key,
            case
                when candidates.customer_key is null and profile.customer_key is null
                    then 'erased_or_merged'
                when candidates.customer_key is null then 'left_audience'
                when candidates.exclusion is not null then candidates.exclusion
                {arm_check}
                else 'address_changed'
            end as removal_reason
        from {snapshot_prev} as prev
        anti join _act_rows as rows on rows._export_key = prev.export_key
        left join _act_candidates as candidates on candidates.customer_key = prev.customer_key
        left join {tables.customers} as profile on profile.customer_key = prev.customer_key
        {arms_join}
    """)

    stem = audience.name
    written: list[WrittenFile] = []
    written += copy_csv_split(
        con,
        "_act_rows",
        formatted.csv_columns,
        "_export_key",
        folder / f"{stem}.csv",
        "full",
        destination.max_file_bytes,
    )
    written.append(
        copy_parquet(
            con,
            f"select {', '.join(formatted.table_columns)} from _act_rows order by _export_key",
            folder / f"{stem}.parquet",
        )
    )
    for change in ("added", "changed"):
        con.execute(f"""
            create or replace temp table _act_{change} as
            select rows.* from _act_rows as rows
            semi join _act_delta as d on d._export_key = rows._export_key and d.change = '{change}'
        """)
        written += copy_csv_split(
            con,
            f"_act_{change}",
            formatted.csv_columns,
            "_export_key",
            folder / f"{change}.csv",
            change,
            destination.max_file_bytes,
        )
    removed_columns = [*formatted.key_columns, "removal_reason"]
    if destination.email_column:  # the key is the customer; say which address it had
        removed_columns = [removed_columns[0], "removal_reason"]
    written += copy_csv_split(
        con,
        "_act_removed",
        removed_columns,
        "_export_key",
        folder / "removed.csv",
        "removed",
        destination.max_file_bytes,
    )

    counts = _counts(con, holdout is not None)
    exclusions = dict(
        con.execute(
            "select exclusion, count(*) from _act_candidates where exclusion is not null group by 1"
        ).fetchall()
    )
    removed_by_reason = dict(
        con.execute("select removal_reason, count(*) from _act_removed group by 1").fetchall()
    )

    con.execute("begin transaction")
    try:
        export_table = f"{schema}.{audience.table_name}"
        con.execute(f"""
            create or replace table {export_table} as
            select {", ".join(formatted.table_columns)},
                {sql_literal(request.run_id)} as run_id,
                cast({sql_literal(as_of.isoformat())} as timestamp) as as_of
            from _act_rows order by _export_key
        """)
        con.execute(
            f"delete from {schema}.audience_snapshots where audience = ? and run_id = ?",
            [audience.name, request.run_id],
        )
        con.execute(f"""
            insert into {schema}.audience_snapshots
            select {sql_literal(audience.name)}, {sql_literal(request.run_id)},
                _export_key, _customer_key, _checksum
            from _act_rows
        """)
        if holdout is not None:
            con.execute(
                f"""
                insert into {schema}.experiment_assignments
                select {sql_literal(holdout.experiment)}, {sql_literal(audience.name)},
                    customer_key, arm, bucket, {sql_literal(holdout.salt)},
                    {holdout.control_share!r}, cast(? as timestamp), {sql_literal(request.run_id)}
                from _act_arms
                anti join (
                    select customer_key from {schema}.experiment_assignments
                    where experiment = {sql_literal(holdout.experiment)}
                ) as known using (customer_key)
            """,
                [as_of],
            )
        con.execute(
            f"delete from {schema}.export_runs where audience = ? and run_id = ?",
            [audience.name, request.run_id],
        )
        con.execute(
            f"insert into {schema}.export_runs values "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'complete')",
            [
                audience.name,
                request.run_id,
                audience.destination,
                audience.definition_hash(),
                as_of,
                generated_at,
                counts["members"],
                counts["exported"],
                counts["holdout_control"],
                counts["added"],
                counts["changed"],
                counts["removed"],
                previous,
                str(folder),
            ],
        )
        con.execute(f"""
            delete from {schema}.audience_snapshots
            where audience = {sql_literal(audience.name)} and run_id not in (
                select run_id from {schema}.export_runs
                where audience = {sql_literal(audience.name)} and status = 'complete'
                order by generated_at desc limit {SNAPSHOT_RUNS_KEPT}
            )
        """)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise

    manifest = {
        "audience": audience.name,
        "description": audience.description,
        "owner": audience.owner,
        "destination": audience.destination,
        "definition_hash": audience.definition_hash(),
        "run_id": request.run_id,
        "previous_run_id": previous,
        "as_of": as_of.isoformat(),
        "generated_at": generated_at.isoformat() + "Z",
        "files": [f.as_dict() for f in written],
        "counts": counts,
        "excluded_by_reason": {r: int(exclusions.get(r, 0)) for r in EXCLUSION_REASONS},
        "removed_by_reason": {k: int(v) for k, v in sorted(removed_by_reason.items())},
        "value_rules": rule_counts,
        "fields_without_model": {
            name: f"{_model_table(name)} has not run: the field is empty" for name in missing_models
        },
        "experiment": audience.holdout.model_dump(mode="json") if audience.holdout else None,
        "table": f"{schema}.{audience.table_name}",
        "cleaned_up_from_crashed_attempt": leftovers,
    }
    tmp = temporary_name(manifest_path)
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    tmp.replace(manifest_path)
    for name in (
        "_act_members",
        "_act_candidates",
        "_act_raw",
        "_act_rows",
        "_act_delta",
        "_act_removed",
        "_act_added",
        "_act_changed",
        "_act_eligible",
        "_act_arms",
    ):
        con.execute(f"drop table if exists {name}")
    return ExportResult(manifest, folder, reused=False, seconds=time.perf_counter() - started)


def _model_table(field_name: str) -> str:
    return MERGE_FIELDS[field_name].model_table or field_name


def _counts(con: duckdb.DuckDBPyConnection, has_holdout: bool) -> dict[str, int]:
    members, excluded = con.execute(
        "select count(*), count(*) filter (where exclusion is not null) from _act_candidates"
    ).fetchone()
    control = (
        con.execute("select count(*) from _act_arms where arm = 'control'").fetchone()[0]
        if has_holdout
        else 0
    )
    exported = con.execute("select count(*) from _act_rows").fetchone()[0]
    added, changed = con.execute(
        "select count(*) filter (where change = 'added'), "
        "count(*) filter (where change = 'changed') "
        "from _act_delta"
    ).fetchone()
    removed = con.execute("select count(*) from _act_removed").fetchone()[0]
    return {
        "members": int(members),
        "excluded": int(excluded),
        "holdout_control": int(control),
        "exported": int(exported),
        "added": int(added),
        "changed": int(changed),
        "removed": int(removed),
    }
