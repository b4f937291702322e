"""Erasure end to end through the real pipeline: erase, verify, re-extract the original
landing files, rebuild dbt, identity, marts and exports, verify again. The person must not
come back.

It starts from the session's pipeline run on the committed sample (`sample_pipeline`, built
once for every slow test) and works on a copy of that warehouse and its export folders, so
the other tests keep reading the original. The person erased has records in several
sources and sat in an audience's latest export.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from orchestration.cli import app, materialize
from orchestration.settings import SAMPLE_LANDING_DIR
from python_models.privacy.identifiers import normalise_identifier

pytestmark = pytest.mark.slow

KEY = "rebuild-test-privacy-key-0123456789-0123"
REQUEST = "E2E-REBUILD-1"


@dataclass(frozen=True)
class Person:
    customer_key: str
    email: str
    crm_id: str
    systems: tuple[str, ...]
    audience: str


@dataclass(frozen=True)
class Rebuilt:
    person: Person
    warehouse: Path
    exports: Path
    erase_output: str
    erased_rows: dict[str, int]
    verify_before: tuple[int, str]
    verify_after: tuple[int, str]
    rebuild_succeeded: bool
    rebuild_failures: list[str]
    runs_before: frozenset[tuple[str, str]]


def pick_person(con: duckdb.DuckDBPyConnection) -> Person:
    """A customer with a CRM contact, records in at least three sources, an email no other
    customer holds, in the latest snapshot of an audience."""
    row = con.execute("""
        with systems as (
            select customer_key, list(distinct source_system order by source_system) as systems,
                   min(source_record_id) filter (where source_system = 'crm') as crm_id
            from identity.identity_graph group by 1
        ),
        latest as (
            select audience, arg_max(run_id, generated_at) as run_id
            from exports.export_runs group by 1
        ),
        exported as (
            select s.customer_key, min(s.audience) as audience
            from exports.audience_snapshots as s join latest using (audience, run_id)
            group by 1
        ),
        unique_emails as (
            select lower(primary_email) as email from marts.dim_customers group by 1
            having count(*) = 1
        )
        select d.customer_key, d.primary_email, s.crm_id, s.systems, e.audience
        from marts.dim_customers as d
        join systems as s using (customer_key)
        join exported as e using (customer_key)
        join unique_emails as u on u.email = lower(d.primary_email)
        where s.crm_id is not null and len(s.systems) >= 3
        order by len(s.systems) desc, d.customer_key
        limit 1
    """).fetchone()
    assert row, "the sample has no exported customer with records in three sources"
    key, email, crm_id, systems, audience = row
    return Person(key, email, crm_id, tuple(systems), audience)


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


@pytest.fixture(scope="module")
def rebuilt(sample_pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rebuilt]:
    result, built = sample_pipeline
    assert result.success
    work = tmp_path_factory.mktemp("privacy_rebuild")
    warehouse = work / "warehouse.duckdb"
    shutil.copy(built, warehouse)
    exports = work / "exports"
    shutil.copytree(os.environ["CUSTOMER360_EXPORT_DIR"], exports)
    with duckdb.connect(str(warehouse)) as con:
        # the copy's export runs point at the copied folders (removed.csv is written there)
        con.execute(
            "update exports.export_runs set folder = replace(folder, ?, ?)",
            [os.environ["CUSTOMER360_EXPORT_DIR"], str(exports)],
        )
        person = pick_person(con)
        runs_before = frozenset(
            con.execute("select audience, run_id from exports.export_runs").fetchall()
        )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CUSTOMER360_WAREHOUSE", str(warehouse))
        env.setenv("CUSTOMER360_LANDING_DIR", str(SAMPLE_LANDING_DIR))
        env.setenv("CUSTOMER360_EXPORT_DIR", str(exports))
        env.setenv("CUSTOMER360_MODEL_DIR", str(work / "models"))
        env.setenv("CUSTOMER360_DQ_DIR", str(work / "dq"))
        env.setenv("CUSTOMER360_PRIVACY_KEY", KEY)
        identifiers = ("--request", REQUEST, "--email", person.email)
        code, erase_output = cli("privacy", "erase", *identifiers)
        assert code == 0, erase_output
        linked = (*identifiers, "--crm-id", person.crm_id, "--customer-key", person.customer_key)
        verify_before = cli("privacy", "verify-erasure", *linked)
        with duckdb.connect(str(warehouse)) as con:
            (by_table,) = con.execute(
                "select rows_by_table from audit.privacy_log where request_id = ?", [REQUEST]
            ).fetchone()
            # A rebuild of raw from the landing files: the raw layer and its load audit go,
            # the tombstones stay.
            for schema, table in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('raw', 'quarantine') and table_type = 'BASE TABLE'"
            ).fetchall():
                con.execute(f'delete from "{schema}"."{table}"')
            con.execute("delete from audit.load_audit")
        again = materialize("*")
        failures = [e.step_key for e in again.all_events if e.is_step_failure]
        verify_after = cli("privacy", "verify-erasure", *linked)
    yield Rebuilt(
        person,
        warehouse,
        exports,
        erase_output,
        json.loads(by_table),
        verify_before,
        verify_after,
        again.success,
        failures,
        runs_before,
    )


def test_the_erasure_reaches_every_source_of_the_person_and_verifies_clean(rebuilt) -> None:
    assert "erased 1 customer(s)" in rebuilt.erase_output
    sources = {t.split(".")[1].split("_")[0] for t in rebuilt.erased_rows if t.startswith("raw.")}
    assert len(sources) >= 3, rebuilt.erased_rows
    code, report = rebuilt.verify_before
    assert code == 0 and "no trace found" in report, report


def test_the_rebuild_from_the_original_landing_files_succeeds(rebuilt) -> None:
    assert rebuilt.rebuild_succeeded, f"failed steps: {rebuilt.rebuild_failures}"


def test_the_re_extract_blocks_and_counts_every_erased_raw_row(rebuilt) -> None:
    # Quarantine holds copies of raw rows that failed a rule: each landing row was erased
    # from raw (and maybe its copy), and the re-extract blocks it once.
    erased = {
        t.removeprefix("raw."): n for t, n in rebuilt.erased_rows.items() if t.startswith("raw.")
    }
    with duckdb.connect(str(rebuilt.warehouse), read_only=True) as con:
        blocked = dict(
            con.execute(
                "select raw_table, sum(rows_blocked) from audit.load_audit "
                "where rows_blocked > 0 group by 1"
            ).fetchall()
        )
    assert {"crm_contacts", "shop_orders"} <= set(blocked), blocked
    assert blocked == erased, rebuilt.erased_rows


def test_the_person_does_not_come_back_after_the_rebuild(rebuilt) -> None:
    code, report = rebuilt.verify_after
    assert code == 0 and "no trace found" in report, report
    person = rebuilt.person
    email = normalise_identifier("email", person.email)
    with duckdb.connect(str(rebuilt.warehouse), read_only=True) as con:
        customers = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
        assert customers > 0
        back = con.execute(
            "select customer_key from marts.dim_customers where customer_key = ? "
            "or list_contains(list_transform(all_emails, lambda e: lower(e)), ?)",
            [person.customer_key, email],
        ).fetchall()
        assert back == []
        in_graph = con.execute(
            "select count(*) from identity.identity_graph where lower(source_record_id) = ?",
            [person.crm_id.lower()],
        ).fetchone()[0]
        assert in_graph == 0


def test_the_next_export_leaves_the_person_out_and_the_old_one_got_a_removed_entry(
    rebuilt,
) -> None:
    person = rebuilt.person
    removed = [
        row
        for path in (rebuilt.exports / person.audience).glob("erasure-*/removed.csv")
        for row in csv.DictReader(path.open(encoding="utf-8"))
    ]
    assert removed and {r["removal_reason"] for r in removed} == {"erased"}
    with duckdb.connect(str(rebuilt.warehouse), read_only=True) as con:
        latest = con.execute(
            "select audience, arg_max(run_id, generated_at), arg_max(folder, generated_at) "
            "from exports.export_runs group by 1"
        ).fetchall()
        snapshots = con.execute(
            "select count(*) from exports.audience_snapshots where customer_key = ?",
            [person.customer_key],
        ).fetchone()[0]
    assert snapshots == 0
    written = {
        audience: Path(folder)
        for audience, run, folder in latest
        if (audience, run) not in rebuilt.runs_before
    }
    assert person.audience in written, "the rebuild wrote no new export of the audience"
    email = person.email.lower()
    for folder in written.values():
        for path in folder.glob("*.csv"):
            assert email not in path.read_text(encoding="utf-8").lower(), path
