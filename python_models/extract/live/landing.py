"""What the live extracts share: the outcome of one extract, its audit row, and raw metadata.

A live extract lands rows in `raw.<table>` with the same metadata the file loader writes:
`_load_id`, `_source_file` (here the source's address, e.g. ``postgres:shop.orders`` or
``crm-api:/v3/contacts``; never a secret), `_row_number` (position in the extract),
`_loaded_at` and `_extra` (source columns the contract does not know, as JSON). One
`audit.load_audit` row per table and extract records rows read/loaded/quarantined, the cursor
before and after, the deletes seen and notes (new columns, type changes, faults survived).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from python_models.contract import CONTRACT
from python_models.extract import sql
from python_models.extract.loader import ensure_tables


class LiveSourceError(RuntimeError):
    """A live source failed in a way a person must act on; the message says what to do."""


@dataclass
class TableOutcome:
    """What one extract did to one raw table."""

    source: str
    raw_table: str
    address: str
    load_id: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    rows_deleted: int = 0
    rows_blocked: int = 0
    cursor_before: str | None = None
    cursor_after: str | None = None
    extra_columns: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    status: str = "loaded"

    def describe(self) -> str:
        parts = [
            f"{self.rows_read} read",
            f"{self.rows_loaded} loaded",
            f"{self.rows_unchanged} unchanged",
            f"{self.rows_quarantined} quarantined",
            f"{self.rows_deleted} deletes",
            f"{self.rows_blocked} blocked by erasure tombstones",
            f"cursor {self.cursor_before or '-'} -> {self.cursor_after or '-'}",
        ]
        text = f"{self.address} -> raw.{self.raw_table}: {', '.join(parts)}"
        return text + "".join(f"\n    note: {n}" for n in self.notes)

    def metadata(self) -> dict[str, object]:
        """Figures for a Dagster MaterializeResult."""
        return {
            "source_address": self.address,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_unchanged": self.rows_unchanged,
            "rows_quarantined": self.rows_quarantined,
            "rows_deleted": self.rows_deleted,
            "rows_blocked": self.rows_blocked,
            "cursor_before": self.cursor_before or "",
            "cursor_after": self.cursor_after or "",
            "notes": "; ".join(self.notes),
            "seconds": round(self.seconds, 3),
        }


def ensure_live_tables(con: duckdb.DuckDBPyConnection, raw_tables: Sequence[str]) -> None:
    """The raw, quarantine and audit tables a live extract writes (created or evolved)."""
    ensure_tables(con, [CONTRACT[t] for t in raw_tables])


def write_audit(con: duckdb.DuckDBPyConnection, outcome: TableOutcome, run_id: str) -> None:
    """One `audit.load_audit` row for one table of one extract (inside the caller's transaction)."""
    con.execute(
        "insert into audit.load_audit by name select ? as load_id, ? as source, "
        "? as raw_table, ? as file_path, ? as rows_read, ? as rows_loaded, 0 as rows_rejected, "
        "? as rows_quarantined, ?::varchar[] as extra_columns, []::varchar[] as missing_columns, "
        "? as seconds, ? as loaded_at, ? as run_id, ? as status, ? as cursor_before, "
        "? as cursor_after, ? as rows_deleted, ?::varchar[] as notes, ? as rows_blocked",
        [
            outcome.load_id,
            outcome.source,
            outcome.raw_table,
            outcome.address,
            outcome.rows_read,
            outcome.rows_loaded,
            outcome.rows_quarantined,
            list(outcome.extra_columns),
            outcome.seconds,
            datetime.now(UTC).replace(tzinfo=None),
            run_id,
            outcome.status,
            outcome.cursor_before,
            outcome.cursor_after,
            outcome.rows_deleted,
            outcome.notes,
            outcome.rows_blocked,
        ],
    )


def raw_insert_prefix(raw_table: str) -> str:
    return f"insert into {sql.RAW_SCHEMA}.{sql.quote_ident(raw_table)} by name "


def block_erased(
    con: duckdb.DuckDBPyConnection, raw_table: str, load_id: str, key: bytes | None
) -> int:
    """Delete this load's rows that carry an erased person's identifier (erasure tombstones).

    Inside the caller's transaction, so a blocked row is never visible; the same check the
    file loader runs (`python_models.privacy.tombstones`).
    """
    from python_models.privacy.tombstones import block_tombstoned_rows

    return int(block_tombstoned_rows(con, CONTRACT[raw_table], load_id, key))


def quarantine_rows(con: duckdb.DuckDBPyConnection, raw_table: str, load_id: str) -> int:
    """Run the blocking quality rules on one load's rows, as the file loader does."""
    from python_models.quality.quarantine import quarantine_load

    return int(quarantine_load(con, raw_table, load_id))
