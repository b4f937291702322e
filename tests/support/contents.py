"""Every row of a warehouse's tables, for comparing two builds (run-time columns left out)."""

from collections.abc import Collection

import duckdb


def table_contents(
    con: duckdb.DuckDBPyConnection, schemas: Collection[str], skip: Collection[str]
) -> dict[str, list[tuple]]:
    """`schema.table` -> its rows as text, sorted, without the columns named in `skip`."""
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in (select unnest(?)) order by all",
        [list(schemas)],
    ).fetchall()
    out = {}
    for schema, table in tables:
        columns = [
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns where table_schema = ? "
                "and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            if name not in skip
        ]
        select = ", ".join(f'"{c}"::varchar' for c in columns)
        out[f"{schema}.{table}"] = con.execute(
            f'select {select} from {schema}."{table}" order by all'
        ).fetchall()
    return out
