"""Score `identity.identity_graph` against the generator's ground truth.

    customer360 identity evaluate --warehouse W --truth DIR

reads `DIR/records.csv` (source_system, source_record_id, person_id), joins it to the graph
and computes, overall and per source system:

- pairwise precision / recall / F1 over record pairs (per source: pairs with at least one
  record of that source), the figures the targets are stated in;
- B-cubed precision / recall / F1 (per-record averages; per source: over its records);
- adjusted Rand index (per source: on that source's records alone).

Truth records missing from the graph count as unlinked singletons (they hurt recall);
graph records absent from the truth are ignored and counted. Results are appended to
`identity.identity_evaluation` and printed as a table. All counting runs in DuckDB.

Besides `overall` and one scope per source, the scope `resolvable` scores only the records
that carry some evidence of who they are, as if the others did not exist: a record of the
identity input (`intermediate.int_person_records_unioned`) with at least one of given name,
family name, email, phone, street, postcode, birth date, crm id, loyalty id or web user id,
or (a browser) at least one logged-in user id or an order placed from it. A browser that
never logged in nor bought, and a truth record that never reached the input (quarantined),
are not resolvable: no method can place
them, so `overall` recall has a ceiling below 1 and `resolvable` shows how much of the
reachable part is found. `overall` is always reported; `resolvable` needs the input table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from python_models.identity.store import GRAPH, SCHEMA

EVALUATION = f"{SCHEMA}.identity_evaluation"
JOINED = "_eval_joined"
ALL_JOINED = "_eval_all_joined"
IDENTITY_INPUT = "intermediate.int_person_records_unioned"
# Fields that say who a record is (see the module docstring); anonymous_id is not one: it is
# the browser record's own id.
EVIDENCE_FIELDS: tuple[str, ...] = (
    "given_name",
    "family_name",
    "email",
    "phone",
    "street",
    "postcode",
    "birth_date",
    "crm_id",
    "loyalty_id",
    "user_id",
)
TARGETS = {"pairwise_precision": 0.995, "pairwise_recall": 0.97}


def joined_sql(truth_source: str) -> str:
    """Truth records with their predicted key (`~<record>` for records not in the graph)."""
    return f"""
create or replace temp table {JOINED} as
select
    t.source_system::VARCHAR as source_system,
    t.source_record_id::VARCHAR as source_record_id,
    t.person_id::VARCHAR as truth,
    coalesce(g.customer_key, '~' || t.source_system || ':' || t.source_record_id) as pred,
    g.customer_key is null as missing
from {truth_source} as t
left join {GRAPH} as g
    on g.source_system = t.source_system::VARCHAR
    and g.source_record_id = t.source_record_id::VARCHAR
"""


def resolvable_sql(input_table: str, input_columns: set[str]) -> str:
    """`(source_system, source_record_id)` of the input records that carry evidence."""
    present = [
        f"nullif(trim({c}::VARCHAR), '') is not null" for c in EVIDENCE_FIELDS if c in input_columns
    ]
    if "linked_user_ids" in input_columns:
        present.append("len(list_filter(linked_user_ids, lambda u: coalesce(u, '') <> '')) > 0")
    if "linked_anonymous_ids" in input_columns:
        # a browser some order was placed from
        present.append(f"anonymous_id in (select unnest(linked_anonymous_ids) from {input_table})")
    evidence = " or ".join(present) or "false"
    return f"""
select source_system::VARCHAR as source_system, source_record_id::VARCHAR as source_record_id
from {input_table}
where {evidence}
"""


def metrics_sql(source_system: str | None) -> str:
    """One row of metrics for all records (None) or the records of one source system."""
    in_scope = "true" if source_system is None else "source_system = $source"
    return f"""
with scoped as (
    select *, ({in_scope}) as in_scope from {JOINED}
),
cells as (
    select pred, truth, count(*)::DOUBLE as n, count(*) filter (in_scope)::DOUBLE as n_s
    from scoped group by pred, truth
),
preds as (
    select pred, count(*)::DOUBLE as n, count(*) filter (in_scope)::DOUBLE as n_s
    from scoped group by pred
),
truths as (
    select truth, count(*)::DOUBLE as n, count(*) filter (in_scope)::DOUBLE as n_s
    from scoped group by truth
),
pairs as (
    select
        (select sum(n * (n - 1) / 2 - (n - n_s) * (n - n_s - 1) / 2) from cells) as tp,
        (select sum(n * (n - 1) / 2 - (n - n_s) * (n - n_s - 1) / 2) from preds) as pred_pairs,
        (select sum(n * (n - 1) / 2 - (n - n_s) * (n - n_s - 1) / 2) from truths) as true_pairs
),
bcubed as (
    select
        sum(c.n_s * c.n / p.n) / sum(c.n_s) as b3_precision,
        sum(c.n_s * c.n / t.n) / sum(c.n_s) as b3_recall
    from cells as c
    inner join preds as p using (pred)
    inner join truths as t using (truth)
),
subset_counts as (
    select
        (select sum(n_s * (n_s - 1) / 2) from cells) as index_sum,
        (select sum(n_s * (n_s - 1) / 2) from preds) as pred_sum,
        (select sum(n_s * (n_s - 1) / 2) from truths) as truth_sum,
        (select count(*) filter (in_scope)::DOUBLE from scoped) as records
),
expected as (
    select
        *,
        case when records >= 2
            then pred_sum * truth_sum / (records * (records - 1) / 2) end as expected_index
    from subset_counts
),
ari as (
    select
        records,
        case
            when records < 2 or (pred_sum + truth_sum) / 2 = expected_index then 1.0
            else (index_sum - expected_index) / ((pred_sum + truth_sum) / 2 - expected_index)
        end as adjusted_rand
    from expected
)
select
    ari.records,
    (select count(*) filter (in_scope and missing) from scoped) as records_missing,
    case when pred_pairs = 0 then 1.0 else tp / pred_pairs end as pairwise_precision,
    case when true_pairs = 0 then 1.0 else tp / true_pairs end as pairwise_recall,
    b3_precision,
    b3_recall,
    adjusted_rand,
    tp as true_pairs_found,
    pred_pairs as predicted_pairs,
    true_pairs
from pairs, bcubed, ari
"""


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _metric_rows(con: duckdb.DuckDBPyConnection, scope_name: str, source: str | None) -> list[dict]:
    params = {} if source is None else {"source": source}
    values = con.execute(metrics_sql(source), params).df().iloc[0].to_dict()
    values["pairwise_f1"] = _f1(values["pairwise_precision"], values["pairwise_recall"])
    values["b3_f1"] = _f1(values["b3_precision"], values["b3_recall"])
    return [
        {"scope": scope_name, "metric": metric, "value": float(value or 0.0)}
        for metric, value in values.items()
    ]


def _recall_ceiling(rows: list[dict]) -> dict:
    """Overall pairwise recall a perfect resolver could reach: the share of true pairs whose
    two records are both resolvable (the rest involve a record nothing identifies)."""
    true_pairs = {r["scope"]: r["value"] for r in rows if r["metric"] == "true_pairs"}
    overall = true_pairs["overall"]
    ceiling = 1.0 if overall == 0 else true_pairs["resolvable"] / overall
    return {"scope": "overall", "metric": "pairwise_recall_ceiling", "value": ceiling}


def _input_columns(con: duckdb.DuckDBPyConnection, input_table: str) -> set[str] | None:
    try:
        described = con.execute(f"select * from {input_table} limit 0").description
    except duckdb.Error:
        return None
    return {d[0].lower() for d in described}


def evaluate_graph(
    con: duckdb.DuckDBPyConnection, truth_source: str, input_table: str = IDENTITY_INPUT
) -> pd.DataFrame:
    """Long table (scope, metric, value) of metrics for the graph against `truth_source`.

    Scopes: `overall`, `resolvable` (when `input_table` exists; see the module docstring)
    and one per source system.
    """
    con.execute(joined_sql(truth_source))
    sources = [
        r[0]
        for r in con.execute(f"select distinct source_system from {JOINED} order by 1").fetchall()
    ]
    rows = _metric_rows(con, "overall", None)
    columns = _input_columns(con, input_table)
    if columns is not None:
        con.execute(f"alter table {JOINED} rename to {ALL_JOINED}")
        con.execute(
            f"create temp table {JOINED} as select * from {ALL_JOINED} "
            f"semi join ({resolvable_sql(input_table, columns)}) "
            "using (source_system, source_record_id)"
        )
        rows += _metric_rows(con, "resolvable", None)
        rows.append(_recall_ceiling(rows))
        con.execute(f"drop table {JOINED}")
        con.execute(f"alter table {ALL_JOINED} rename to {JOINED}")
    for source in sources:
        rows += _metric_rows(con, source, source)
    con.execute(f"drop table {JOINED}")
    return pd.DataFrame(rows)


def truth_csv_source(truth_dir: Path) -> str:
    """SQL table expression reading the generator's `records.csv`, with a clear error."""
    path = truth_dir / "records.csv"
    if not path.is_file():
        raise FileNotFoundError(f"truth file {path} not found (expected the generator's output)")
    escaped = str(path).replace("'", "''")
    return f"read_csv('{escaped}', header = true, all_varchar = true)"


def write_evaluation(
    con: duckdb.DuckDBPyConnection, metrics: pd.DataFrame, run_id: str, truth: str
) -> None:
    """Append the metrics to `identity.identity_evaluation`."""
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(f"""
        create table if not exists {EVALUATION} (
            run_id VARCHAR, evaluated_at TIMESTAMP, scope VARCHAR, metric VARCHAR,
            value DOUBLE, truth VARCHAR)
    """)
    frame = metrics.assign(
        run_id=run_id, evaluated_at=datetime.now(UTC).replace(tzinfo=None), truth=truth
    )[["run_id", "evaluated_at", "scope", "metric", "value", "truth"]]
    con.register("_eval_rows", frame)
    con.execute(f"insert into {EVALUATION} select * from _eval_rows")
    con.unregister("_eval_rows")


def format_table(metrics: pd.DataFrame) -> str:
    """Scopes as rows, the headline metrics as columns."""
    wide = metrics.pivot(index="scope", columns="metric", values="value")
    columns = [
        "records",
        "pairwise_precision",
        "pairwise_recall",
        "pairwise_f1",
        "b3_precision",
        "b3_recall",
        "b3_f1",
        "adjusted_rand",
        "records_missing",
    ]
    head = [s for s in ("overall", "resolvable") if s in wide.index]
    order = [*head, *sorted(s for s in wide.index if s not in head)]
    wide = wide.loc[order, columns]
    wide[["records", "records_missing"]] = wide[["records", "records_missing"]].astype(int)
    return wide.to_string(float_format=lambda v: f"{v:.4f}")
