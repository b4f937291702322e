"""How much churn signal the generator gives, quickly: the churn models on its own output.

`python -m python_models.benchmarks.churn_signal --customers 3000 --seed 42` builds one
generator chunk in memory (no files, invalid rows, dbt or identity resolution), keys every
record by the true person (`person_id` as the customer key), loads the tables the churn
features read into an in-memory DuckDB, and trains and evaluates exactly as the pipeline does
(`read_features` at the training and test cutoffs, then `train_and_evaluate`). It prints
ROC-AUC, PR-AUC, Brier score and top-decile lift of both model families, BG/NBD expected
purchases as a score, and recency alone. A few seconds of generation and a minute or two of
training at 3,000 people: the loop for tuning `sample_data/behaviour.py`. The figure that
counts is the pipeline's (`models.model_runs` on the committed sample); this one skips
identity noise and consent matching is approximate (emails compared without dots and
plus-tags), so it reads within about 0.01 ROC-AUC of it.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

import duckdb
import pandas as pd

from orchestration.settings import get_settings
from python_models.predictions.churn import ChurnParams
from python_models.predictions.features import FeatureSources
from python_models.predictions.pipeline import (
    ChurnSettings,
    churn_cutoffs,
    read_features,
    train_and_evaluate,
)
from python_models.sample_data import sources as src
from python_models.sample_data.config import GeneratorConfig
from python_models.sample_data.generate import _rng, build_chunk
from python_models.warehouse import connect

AS_OF = datetime(2026, 11, 1)


def build_truth_keyed_tables(con: duckdb.DuckDBPyConnection, customers: int, seed: int) -> None:
    """The FeatureSources tables of schema `h` for one generated chunk, keyed by true person."""
    config = GeneratorConfig(customers=customers, seed=seed, chunk_size=max(customers, 100))
    catalog = src.make_catalog(config, _rng(config, 0))
    people, out = build_chunk(config, 0, catalog)
    truth = pd.concat(out.truth, ignore_index=True)
    con.register("truth_df", truth)
    con.execute("create schema if not exists h; set TimeZone='UTC'")
    con.execute(
        "create or replace table h.identity_graph as select source_system, source_record_id, "
        "person_id as customer_key from truth_df"
    )
    for name, table in out.tables.items():
        con.register(f"{name}_arrow", table)
        con.execute(f"create or replace table h.raw_{name} as select * from {name}_arrow")
    cat = catalog.to_table()
    con.register("cat_arrow", cat)
    con.execute("create or replace table h.products as select product_id, category from cat_arrow")
    con.execute(
        """
        create or replace table h.order_lines as
        select o.order_id, 'online' as channel, g.customer_key,
               (o.ordered_at::timestamptz)::timestamp as ordered_at, o.status,
               o.status = 'returned' as is_return, l.product_id,
               (l.unit_price::double * l.quantity::int - l.discount::double)
                   as net_amount_reporting
        from h.raw_shop_order_lines l join h.raw_shop_orders o using (order_id)
        left join h.identity_graph g on g.source_system = 'shop' and g.source_record_id = o.order_id
        union all
        select p.transaction_id, 'store', g.customer_key,
               (p.transacted_at::timestamptz)::timestamp, 'completed', false, p.product_id,
               p.unit_price::double * p.quantity::int - p.discount::double
        from h.raw_pos_transactions p
        left join h.identity_graph g
            on g.source_system = 'loyalty' and g.source_record_id = p.loyalty_id
        """
    )
    con.execute(
        """
        create or replace table h.orders as
        select order_id, channel, any_value(customer_key) as customer_key,
               min(ordered_at) as ordered_at,
               case when channel = 'store' and sum(net_amount_reporting) < 0 then 'returned'
                    else any_value(status) end as status,
               (channel = 'store' and sum(net_amount_reporting) < 0) or bool_or(is_return)
                   as is_return,
               sum(net_amount_reporting) as net_amount_reporting
        from h.order_lines group by order_id, channel
        """
    )
    con.execute(
        """
        create or replace table h.events as
        select coalesce(u.customer_key, a.customer_key) as customer_key, e.session_id::varchar
               as session_id, e.event_name::varchar as event_name,
               to_timestamp(e.occurred_at_epoch)::timestamp as occurred_at,
               e.product_id::varchar as product_id
        from h.raw_web_events e
        left join h.identity_graph u on u.source_system = 'web_user'
             and u.source_record_id = e.user_id::varchar
        left join h.identity_graph a on a.source_system = 'web_anonymous'
             and a.source_record_id = e.anonymous_id::varchar
        """
    )
    con.execute(
        "create or replace table h.tickets as select ticket_id, "
        "(opened_at::timestamptz)::timestamp as opened_at, "
        "satisfaction_score::int as satisfaction_score from h.raw_support_tickets"
    )
    con.register("people_df", people[["person_id", "email", "second_email"]])
    norm = (
        "regexp_replace(split_part(lower(replace({e}, ' ', '')), '@', 1), '[.]|[+].*', '', 'g')"
        " || '@' || split_part(lower(replace({e}, ' ', '')), '@', 2)"
    )
    con.execute(
        "create or replace table h.person_records as select person_id as customer_key, "
        f"{norm.format(e='email')} as email from people_df union all "
        "select person_id, " + norm.format(e="second_email") + " from people_df "
        "where second_email <> ''"
    )
    con.execute(
        """
        create or replace table h.consent_events as
        select identifier_type, NORM as identifier_match_key, purpose,
               status = 'granted' as is_granted,
               (occurred_at::timestamptz)::timestamp as occurred_at
        from h.raw_consent_events
        """.replace("NORM", norm.format(e="identifier"))
    )
    con.execute(
        """
        create or replace table h.consent_current as
        select p.customer_key, coalesce(max_by(c.is_granted, c.occurred_at), false)
               as consent_analytics
        from h.person_records p left join h.consent_events c
          on c.identifier_match_key = p.email and c.purpose = 'analytics'
        group by p.customer_key
        """
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--train-cutoffs", type=int, default=ChurnSettings.train_cutoffs)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    con = connect(":memory:", memory_limit=get_settings().duckdb_memory_limit)
    build_truth_keyed_tables(con, args.customers, args.seed)
    train, test = churn_cutoffs(AS_OF, 90, args.train_cutoffs, 30)
    frame = read_features(
        con,
        FeatureSources.in_schema("h"),
        [*train, test],
        90,
        sample_size=None,
        seed=42,
        with_outcome=True,
        consent_table="h.consent_current",
    )
    built = time.perf_counter() - started
    _, evaluation, _ = train_and_evaluate(frame, test, ChurnParams())
    print(
        f"{args.customers} people, seed {args.seed}: tables and features {built:.0f} s, "
        f"total {time.perf_counter() - started:.0f} s; {evaluation.n_train_rows} training rows, "
        f"{evaluation.n_test_rows} test rows; chosen {evaluation.chosen}"
    )
    print(f"{'score':24s} {'ROC-AUC':>8s} {'PR-AUC':>8s} {'Brier':>8s} {'lift':>6s} {'CV':>6s}")
    for name, m in evaluation.candidates.items():
        print(
            f"{name:24s} {m['roc_auc']:8.3f} {m['pr_auc']:8.3f} {m['brier']:8.4f} "
            f"{m['top_decile_lift']:6.2f} {m['cv_roc_auc']:6.3f}"
        )
    b = evaluation.bgnbd
    print(
        f"{'bgnbd_expected_purchases':24s} {b['roc_auc']:8.3f} {b['pr_auc']:8.3f} "
        f"{b['brier']:8.4f} {b['top_decile_lift']:6.2f}"
    )
    print(f"{'recency_days':24s} {evaluation.recency_only_roc_auc:8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
