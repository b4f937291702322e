"""What the dashboard shows, read from the warehouse as small aggregates.

Every figure is aggregated in DuckDB and only the summary comes to pandas (a few thousand
rows at most, whatever the number of customers). A table another part of the pipeline has not
built yet (churn scores, CLV, experiment results before their first run) is `None`, and the
page says "not run yet" instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from python_models.contract import CONTRACT

#: quarantined rows shown per failing rule in the drill-down
SAMPLE_ROWS_PER_RULE = 5
#: columns of a quarantined row never shown in the drill-down (bookkeeping, or free text)
_HIDDEN_QUARANTINE_COLUMNS = {"_extra", "quarantined_at", "released_at", "_loaded_at"}


@dataclass
class DashboardData:
    """The frames the page is drawn from; None where the table does not exist yet."""

    as_of: str | None
    headline: dict[str, object]
    revenue: pd.DataFrame | None
    segment_sizes: pd.DataFrame | None
    rfm_grid: pd.DataFrame | None
    churn: pd.DataFrame | None
    clv: pd.DataFrame | None
    clusters: pd.DataFrame | None
    scorecard: pd.DataFrame | None
    failing_rules: pd.DataFrame | None
    quarantine_samples: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    identity: dict[str, object] = field(default_factory=dict)
    identity_cluster_sizes: pd.DataFrame | None = None
    experiments: pd.DataFrame | None = None


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables"
    ).fetchall()
    return {r[0] for r in rows}


def _frame(con, tables: set[str], needs: list[str], sql: str) -> pd.DataFrame | None:
    if not all(t in tables for t in needs):
        return None
    return con.execute(sql).df()


def _quarantine_drilldown(
    con: duckdb.DuckDBPyConnection, tables: set[str]
) -> tuple[pd.DataFrame | None, dict[tuple[str, str], pd.DataFrame]]:
    """Unreleased quarantined rows per (table, rule), with the rule's own words, and samples."""
    counts: list[pd.DataFrame] = []
    samples: dict[tuple[str, str], pd.DataFrame] = {}
    for table, spec in CONTRACT.items():
        name = f"quarantine.{table}"
        if name not in tables:
            continue
        per_rule = con.execute(
            f"""
            select rule, count(*) as rows_quarantined, min(quarantined_at) as first_seen,
                   max(quarantined_at) as last_seen
            from (select unnest(failed_rules) as rule, quarantined_at
                  from {name} where released_at is null)
            group by rule order by rows_quarantined desc, rule
            """
        ).df()
        if per_rule.empty:
            continue
        rules = {r.name: r for r in spec.rules}
        per_rule.insert(0, "raw_table", table)
        per_rule["severity"] = [
            rules[r].severity if r in rules else "blocking" for r in per_rule["rule"]
        ]
        per_rule["what_it_checks"] = [
            rules[r].description if r in rules else "the row could not be parsed at all"
            for r in per_rule["rule"]
        ]
        counts.append(per_rule)
        columns = [
            r[0]
            for r in con.execute(f"describe {name}").fetchall()
            if r[0] not in _HIDDEN_QUARANTINE_COLUMNS
        ]
        pii = set(spec.pii_columns)
        # personal data stays out of a page that gets mailed around: a steward sees that a
        # value was there and how long it was, which is what most rules are about
        select_list = ", ".join(
            f'case when "{c}" is null then null '
            f"else left(\"{c}\", 1) || '… (' || length(\"{c}\") || ' chars, masked)' "
            f'end as "{c}"'
            if c in pii
            else f'"{c}"'
            for c in columns
        )
        for rule in per_rule["rule"]:
            samples[(table, rule)] = con.execute(
                f"select {select_list} from {name} "
                "where released_at is null and list_contains(failed_rules, ?) "
                f"order by _load_id, _row_number limit {SAMPLE_ROWS_PER_RULE}",
                [rule],
            ).df()
    if not counts:
        return (pd.DataFrame() if any(t.startswith("quarantine.") for t in tables) else None), {}
    return pd.concat(counts, ignore_index=True), samples


def _identity(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, object]:
    figures: dict[str, object] = {}
    for label, table in [
        ("merges", "identity.identity_merges"),
        ("splits", "identity.identity_splits"),
        ("review_queue", "identity.identity_review_queue"),
    ]:
        if table in tables:
            figures[label] = con.execute(f"select count(*) from {table}").fetchone()[0]
    if "identity.identity_graph" in tables:
        records, customers, largest = con.execute(
            """
            select sum(n), count(*), max(n)
            from (select count(*) as n from identity.identity_graph group by customer_key)
            """
        ).fetchone()
        figures.update(records=records, customers=customers, largest_cluster=largest)
    if "identity.identity_runs" in tables:
        last = con.execute(
            "select run_id, as_of, candidate_pairs, auto_links, review_queue, clusters, seconds "
            "from identity.identity_runs order by finished_at desc limit 1"
        ).df()
        if not last.empty:
            figures["last_run"] = last.iloc[0].to_dict()
    return figures


def collect_dashboard_data(con: duckdb.DuckDBPyConnection) -> DashboardData:
    """Read everything the dashboard shows (aggregates only) from an open warehouse."""
    tables = _tables(con)
    as_of = None
    if "marts.segment_summary" in tables:
        value = con.execute("select max(as_of) from marts.segment_summary").fetchone()[0]
        as_of = None if value is None else str(value)[:10]
    headline: dict[str, object] = {}
    if "marts.dim_customers" in tables:
        headline["customers"] = con.execute("select count(*) from marts.dim_customers").fetchone()[
            0
        ]
    revenue = _frame(
        con,
        tables,
        ["marts.fct_orders"],
        """
        select channel,
               case when customer_key is null then 'anonymous (no customer key)'
                    else 'known customer' end as buyer,
               count(*) as orders,
               coalesce(sum(net_amount_reporting), 0)::double as net_revenue_gbp
        from marts.fct_orders
        group by all order by channel, buyer
        """,
    )
    if revenue is not None:
        headline["net_revenue_gbp"] = float(revenue["net_revenue_gbp"].sum())
        anonymous = revenue[revenue["buyer"].str.startswith("anonymous")]
        headline["anonymous_revenue_gbp"] = float(anonymous["net_revenue_gbp"].sum())
        headline["anonymous_orders"] = int(anonymous["orders"].sum())
    segment_sizes = _frame(
        con,
        tables,
        ["marts.segment_summary"],
        "select as_of, segment, segment_type, members, entries, exits "
        "from marts.segment_summary order by as_of, segment_type, segment",
    )
    rfm_grid = _frame(
        con,
        tables,
        ["marts.customer_rfm"],
        """
        select r_score, fm_score, rfm_segment, count(*) as customers,
               coalesce(sum(monetary), 0)::double as monetary_gbp
        from marts.customer_rfm
        where r_score is not null and fm_score is not null
        group by all order by r_score, fm_score
        """,
    )
    churn = _frame(
        con,
        tables,
        ["models.customer_churn_scores"],
        """
        select least(floor(churn_probability * 20) / 20, 0.95) as probability_bin,
               risk_band, count(*) as customers
        from models.customer_churn_scores
        where is_scorable and churn_probability is not null
        group by all order by probability_bin
        """,
    )
    clv = _frame(
        con,
        tables,
        ["models.customer_clv"],
        """
        with scored as (
            select expected_value_12m from models.customer_clv
            where is_scorable and expected_value_12m is not null
        ),
        bounds as (select quantile_cont(expected_value_12m, 0.99) as cap from scored)
        select floor(least(expected_value_12m, cap) / greatest(cap / 25, 0.01))
                   * greatest(cap / 25, 0.01) as value_bin,
               count(*) as customers, sum(expected_value_12m) as expected_value_gbp
        from scored, bounds
        group by all order by value_bin
        """,
    )
    clusters = _frame(
        con,
        tables,
        ["models.cluster_profiles"],
        """
        select cluster_id, cluster_label, n_customers, share_of_customers,
               centroid_recency_days, centroid_frequency, centroid_monetary,
               centroid_avg_order_value, centroid_events_90d, centroid_email_clicks_90d,
               array_to_string(rules, '; ') as rules
        from models.cluster_profiles order by n_customers desc
        """,
    )
    scorecard = _frame(
        con,
        tables,
        ["dq.dq_scorecard"],
        """
        select source, load_id, loaded_at, rows_read, rows_quarantined, completeness,
               validity, consistency, uniqueness, timeliness, dq_score
        from dq.dq_scorecard order by source, loaded_at, load_id
        """,
    )
    failing_rules, samples = _quarantine_drilldown(con, tables)
    identity = _identity(con, tables)
    identity_cluster_sizes = _frame(
        con,
        tables,
        ["identity.identity_graph"],
        """
        select least(records, 10) as records_per_customer, count(*) as customers
        from (select customer_key, count(*) as records
              from identity.identity_graph group by customer_key)
        group by all order by 1
        """,
    )
    experiments = _frame(
        con,
        tables,
        ["exports.experiment_results"],
        """
        select experiment, audience, outcome, method, arm, size, value, absolute_uplift,
               ci_low, ci_high, p_value, status, analysis_date
        from exports.experiment_results
        order by experiment, outcome, method, arm
        """,
    )
    return DashboardData(
        as_of=as_of,
        headline=headline,
        revenue=revenue,
        segment_sizes=segment_sizes,
        rfm_grid=rfm_grid,
        churn=churn,
        clv=clv,
        clusters=clusters,
        scorecard=scorecard,
        failing_rules=failing_rules,
        quarantine_samples=samples,
        identity=identity,
        identity_cluster_sizes=identity_cluster_sizes,
        experiments=experiments,
    )
