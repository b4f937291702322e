"""The `analytics` schema: the marts with every personal column replaced by a keyed hash.

Each mart becomes `analytics.<mart>` with its columns in order; a column tagged PII in the
dbt yml (`meta: {pii: true}` or a `pii` tag), and every person key (`customer_key`,
`anonymous_id`, `user_id`), is replaced by HMAC-SHA256 under the privacy key: the same
person has the same token in every table, so analysts join and count distinct people
without seeing who they are, and without the key a token cannot be reversed by hashing a
list of addresses. List columns are hashed element by element.

They are tables, rebuilt after the marts, not views: a DuckDB view stores its SQL, which
would hold the key, and DuckDB has no grants that could hide it.

`pii_violations` is the gate: a tagged column reaching the schema unhashed, or a column
whose name or content looks like personal data (an email or phone pattern) without being
hashed. `k_anonymous_counts` is for aggregates meant for sharing: groups with fewer than
k distinct customers are suppressed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from python_models.privacy.keys import token_sql

SCHEMA = "analytics"
MARTS: tuple[str, ...] = (
    "dim_customers",
    "fct_orders",
    "fct_order_lines",
    "fct_events",
    "customer_rfm",
    "customer_lifecycle",
    "segment_membership",
    "segment_membership_history",
    "customer_consent",
)
#: person keys: not PII on their own, but linkable to a person, so hashed too.
PERSON_KEYS: frozenset[str] = frozenset({"customer_key", "anonymous_id", "user_id"})
#: a column named for personal data: the PII word ends the name (`primary_email`,
#: `ship_city`, `birth_date`), so `consent_email_marketing` or `email_clicks_90d` do not count.
#: A source record id (`email_source_record_id`: the CRM contact or loyalty card a golden
#: record's email came from) names a person in that source system, so it counts too.
PII_NAME = re.compile(
    r"(^|_)(e?mail|emails|phone|phones|mobile|given_name|family_name|first_name|last_name|"
    r"full_name|street|address|postcode|zip|city|birth_date|date_of_birth|dob|ip_address|"
    r"ssn|passport|identifier|record_id)$"
)
EMAIL_CONTENT = r"[^@\s]+@[^@\s]+\.[a-z]{2,}"
PHONE_CONTENT = r"^\+?[0-9][0-9 ().-]{7,}[0-9]$"
HASHED = "^[0-9a-f]{64}$"


def _is_pii(column: Mapping) -> bool:
    config = column.get("config") or {}
    meta = {**(column.get("meta") or {}), **(config.get("meta") or {})}
    tags = [*(column.get("tags") or []), *(config.get("tags") or [])]
    return bool(meta.get("pii")) or "pii" in tags


def pii_columns(dbt_models_dir: Path) -> dict[str, set[str]]:
    """{model: {column tagged PII}} from every yml under `dbt_models_dir`."""
    tagged: dict[str, set[str]] = {}
    for path in sorted(dbt_models_dir.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models") or []:
            names = {c["name"] for c in model.get("columns") or [] if _is_pii(c)}
            tagged.setdefault(model["name"], set()).update(names)
    return tagged


def untagged_pii_names(dbt_models_dir: Path, layers: Iterable[str] = ("marts",)) -> list[str]:
    """`model.column` of every documented column whose name looks like PII but is untagged."""
    found = []
    for layer in layers:
        for path in sorted((dbt_models_dir / layer).rglob("*.yml")):
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for model in document.get("models") or []:
                for column in model.get("columns") or []:
                    if PII_NAME.search(column["name"]) and not _is_pii(column):
                        found.append(f"{model['name']}.{column['name']}")
    return found


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()


def pseudonymised_select(
    key: bytes, table: str, columns: Sequence[tuple[str, str]], tagged: set[str]
) -> str:
    """SELECT list of `analytics.<table>`: hashed where PII or a person key."""
    items = []
    for name, data_type in columns:
        quoted = f'"{name}"'
        kind = "customer_key" if name in PERSON_KEYS else name
        if name not in tagged and name not in PERSON_KEYS:
            items.append(quoted)
        elif data_type.endswith("[]"):
            element = token_sql(key, f"'{kind}'", "x::varchar")
            items.append(f"list_transform({quoted}, lambda x: {element}) as {quoted}")
        else:
            hashed = token_sql(key, f"'{kind}'", f"{quoted}::varchar")
            items.append(f"{hashed} as {quoted}")
    return ", ".join(items)


def build_analytics(
    con: duckdb.DuckDBPyConnection,
    key: bytes,
    tagged: Mapping[str, set[str]],
    marts: Sequence[str] = MARTS,
    source_schema: str = "marts",
) -> dict[str, int]:
    """(Re)build `analytics.<mart>` for every mart that exists; returns rows per table."""
    con.execute(f"create schema if not exists {SCHEMA}")
    built: dict[str, int] = {}
    for mart in marts:
        columns = _columns(con, source_schema, mart)
        if not columns:
            continue
        select = pseudonymised_select(key, mart, columns, set(tagged.get(mart, set())))
        con.execute(
            f'create or replace table {SCHEMA}."{mart}" as '
            f'select {select} from {source_schema}."{mart}"'
        )
        built[mart] = int(con.execute(f'select count(*) from {SCHEMA}."{mart}"').fetchone()[0])
    return built


@dataclass(frozen=True)
class PiiViolation:
    table: str
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}: {self.reason}"


def pii_violations(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    tagged: Mapping[str, set[str]],
    allowed: Mapping[str, set[str]] | None = None,
) -> list[PiiViolation]:
    """Columns of `schema` carrying personal data: tagged or PII-named columns not hashed,
    and any text column whose values look like an email or a phone number. `allowed` lists
    columns a destination may carry (an email tool's address)."""
    allowed = allowed or {}
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? order by 1",
            [schema],
        ).fetchall()
    ]
    violations = []
    for table in tables:
        for name, data_type in _columns(con, schema, table):
            if name in allowed.get(table, set()):
                continue
            text = f'"{name}"::varchar' if not data_type.endswith("[]") else f'"{name}"[1]'
            is_text = data_type == "VARCHAR" or data_type.endswith("[]")
            hashed = con.execute(
                f"select count(*) = count(*) filter (where regexp_matches({text}, '{HASHED}')) "
                f'from {schema}."{table}" where {text} is not null'
            ).fetchone()[0]
            if name in tagged.get(table, set()) and not hashed:
                violations.append(PiiViolation(table, name, "tagged PII, not hashed"))
                continue
            if PII_NAME.search(name) and not hashed:
                violations.append(PiiViolation(table, name, "name looks like PII, untagged"))
                continue
            if not is_text:
                continue
            looks = con.execute(
                f"select count(*) filter (where regexp_matches(lower({text}), '{EMAIL_CONTENT}')),"
                f" count(*) filter (where regexp_full_match({text}, '{PHONE_CONTENT}')) "
                f'from {schema}."{table}"'
            ).fetchone()
            if looks[0]:
                violations.append(PiiViolation(table, name, f"{looks[0]} values look like emails"))
            elif looks[1]:
                violations.append(PiiViolation(table, name, f"{looks[1]} values look like phones"))
    return violations


def k_anonymous_counts(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    group_by: Sequence[str],
    *,
    customer_column: str = "customer_key",
    k: int = 5,
) -> tuple[list[tuple], int]:
    """(groups with at least k distinct customers and their counts, groups suppressed).

    Counts distinct customers, not rows (an entity-level rule, like Snowflake's aggregation
    policies), so one customer's hundred events cannot make a group look safe."""
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    groups = ", ".join(f'"{c}"' for c in group_by)
    con.execute(
        "create or replace temp table _privacy_k_groups as "
        f'select {groups}, count(distinct "{customer_column}") as customers, count(*) as rows '
        f"from {relation} group by all"
    )
    kept = con.execute(
        f"select * from _privacy_k_groups where customers >= ? order by {groups}", [k]
    ).fetchall()
    suppressed = con.execute(
        "select count(*) from _privacy_k_groups where customers < ?", [k]
    ).fetchone()[0]
    con.execute("drop table _privacy_k_groups")
    return kept, int(suppressed)
