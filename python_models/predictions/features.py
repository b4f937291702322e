"""Point-in-time churn and CLV features, as DuckDB SQL, for any number of cutoffs at once.

Every feature of a customer at cutoff T is computed from rows strictly before T (orders,
order lines, web and email events, support tickets, consent events), so a model trained
on last spring's cutoffs never sees what happened after them; the leakage test in
tests/unit/test_predictions_features.py changes every row at or after T and checks that
no feature moves. The label of (customer, T) is "no purchase in [T, T + horizon)".

A purchase is a completed, non-returned order; purchases are counted per day (two orders on
one day are one purchase occasion, as the BG/NBD summary needs). The SQL only builds
strings: running it is the caller's job (python_models/predictions/pipeline.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# What the models read, in this order. NULL-free by construction (coalesce in the SQL).
CHURN_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "purchases_30d",
    "purchases_90d",
    "purchases_365d",
    "monetary",
    "monetary_365d",
    "avg_order_value",
    "purchase_trend",
    "tenure_days",
    "days_between_purchases",
    "overdue_ratio",
    "sessions_30d",
    "sessions_90d",
    "product_views_90d",
    "event_trend",
    "session_trend",
    "email_opens_90d",
    "email_clicks_90d",
    "email_open_trend",
    "days_since_last_visit",
    "days_since_last_email_open",
    "returns_90d",
    "returns_365d",
    "return_rate",
    "tickets_90d",
    "tickets_365d",
    "avg_satisfaction",
    "low_satisfaction_tickets",
    "low_satisfaction_tickets_90d",
    "email_marketing_consent",
    "categories_bought",
    "top_category_share",
    "bgnbd_expected_purchases",
)

# The BG/NBD summary at each cutoff (time in days); `bgnbd_expected_purchases` is filled
# from it in Python (pipeline.add_bgnbd_feature), since the fit needs all customers.
SUMMARY_COLUMNS: tuple[str, ...] = ("bg_frequency", "bg_recency", "bg_age", "bg_monetary")

# How each feature reads in a customer's "top reasons".
FEATURE_LABELS: dict[str, str] = {
    "recency_days": "days since last purchase",
    "frequency": "purchases to date",
    "purchases_30d": "purchases in the last 30 days",
    "purchases_90d": "purchases in the last 90 days",
    "purchases_365d": "purchases in the last 365 days",
    "monetary": "net spend to date",
    "monetary_365d": "net spend in the last 365 days",
    "avg_order_value": "average order value",
    "purchase_trend": "purchase trend (last 90 days vs the 90 before)",
    "tenure_days": "days as a customer",
    "days_between_purchases": "average days between purchases",
    "overdue_ratio": "days since last purchase against the usual gap",
    "sessions_30d": "web sessions in the last 30 days",
    "sessions_90d": "web sessions in the last 90 days",
    "product_views_90d": "product views in the last 90 days",
    "event_trend": "web activity trend (last 90 days vs the 90 before)",
    "session_trend": "web sessions trend (last 90 days vs the 90 before)",
    "email_opens_90d": "email opens in the last 90 days",
    "email_clicks_90d": "email clicks in the last 90 days",
    "email_open_trend": "email opens trend (last 90 days vs the 90 before)",
    "days_since_last_visit": "days since the last web visit",
    "days_since_last_email_open": "days since the last email opened",
    "returns_90d": "returns in the last 90 days",
    "returns_365d": "returns in the last 365 days",
    "return_rate": "share of orders returned",
    "tickets_90d": "support tickets in the last 90 days",
    "tickets_365d": "support tickets in the last 365 days",
    "avg_satisfaction": "average support satisfaction",
    "low_satisfaction_tickets": "support tickets rated 1-2",
    "low_satisfaction_tickets_90d": "support tickets rated 1-2 in the last 90 days",
    "email_marketing_consent": "email marketing consent",
    "categories_bought": "categories bought",
    "top_category_share": "share of spend in the favourite category",
    "bgnbd_expected_purchases": "BG/NBD expected purchases",
}


@dataclass(frozen=True)
class FeatureSources:
    """The warehouse tables the features read; any of them may be an empty table of the shape.

    Orders and lines carry `customer_key`; tickets are keyed through the identity graph's
    `support` records, consent through the emails on a customer's linked records.
    """

    customers: str = "identity.identity_graph"
    orders: str = "intermediate.int_orders_keyed"
    order_lines: str = "intermediate.int_order_lines_keyed"
    products: str = "staging.stg_catalog__products"
    events: str = "intermediate.int_events_keyed"
    tickets: str = "staging.stg_support__tickets"
    identity_graph: str = "identity.identity_graph"
    consent_events: str = "staging.stg_consent__events"
    person_records: str = "intermediate.int_person_records_keyed"

    @classmethod
    def in_schema(cls, schema: str) -> FeatureSources:
        """Every table as `<schema>.<role>` (customers come from `<schema>.identity_graph`):
        the layout of the bring-your-own-data, benchmark and test warehouses."""
        roles = {name: f"{schema}.{name}" for name in cls.__dataclass_fields__}
        return cls(**{**roles, "customers": f"{schema}.identity_graph"})


def timestamp_literal(value: datetime | str) -> str:
    text = value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)
    text = text.replace("T", " ").rstrip("Zz")
    if "'" in text:
        raise ValueError(f"not a timestamp: {value!r}")
    return f"timestamp '{text}'"


def cutoffs_sql(cutoffs: Sequence[datetime | str]) -> str:
    if not cutoffs:
        raise ValueError("at least one cutoff is needed")
    rows = ", ".join(f"({timestamp_literal(c)})" for c in cutoffs)
    return f"select * from (values {rows}) as c(cutoff)"


def customers_sql(
    sources: FeatureSources,
    sample_size: int | None,
    seed: int,
    consent_table: str | None = None,
) -> str:
    """Distinct customers; a seeded hash sample (stable run to run) when `sample_size` is set.

    With `consent_table` (a table of customer_key, consent_analytics), only customers whose
    analytics consent is true: what a model may learn from. Scoring passes none."""
    base = f"select distinct customer_key from {sources.customers} where customer_key is not null"
    if consent_table is not None:
        base += (
            f" and customer_key in (select customer_key from {consent_table} "
            "where consent_analytics)"
        )
    if sample_size is None:
        return base
    return (
        f"select customer_key from ({base}) "
        f"order by hash(customer_key || ':{int(seed)}'), customer_key limit {int(sample_size)}"
    )


def _grid_ctes(
    sources: FeatureSources,
    cutoffs: Sequence[datetime | str],
    sample_size: int | None,
    seed: int,
    consent_table: str | None,
) -> str:
    """`cutoffs`, `customers` and their cross product `grid`: what every query is per row of."""
    return f"""cutoffs as ({cutoffs_sql(cutoffs)}),
customers as ({customers_sql(sources, sample_size, seed, consent_table)}),
grid as (select customers.customer_key, cutoffs.cutoff from customers cross join cutoffs),
"""


def _orders_before_cte(orders: str) -> str:
    """Every order of a grid customer strictly before the grid's cutoff, netted."""
    return f"""orders_before as (
    select
        grid.customer_key,
        grid.cutoff,
        o.order_id,
        o.channel,
        o.ordered_at,
        o.status = 'completed' and not coalesce(o.is_return, false) as is_purchase,
        coalesce(o.is_return, false) as is_return,
        case when o.status = 'cancelled' then 0
             when coalesce(o.is_return, false) then -abs(coalesce(o.net_amount_reporting, 0))
             else coalesce(o.net_amount_reporting, 0) end::double as netted_amount,
        date_diff('day', o.ordered_at, grid.cutoff) as age_days
    from {orders} as o
    inner join grid on o.customer_key = grid.customer_key and o.ordered_at < grid.cutoff
),
"""


def _purchase_ctes() -> str:
    """`purchase_days` and `purchase_summary` (the BG/NBD summary) from `orders_before`."""
    return """purchase_days as (
    select customer_key, cutoff, date_trunc('day', ordered_at) as purchase_day,
           sum(netted_amount) as day_amount
    from orders_before where is_purchase
    group by all
),
purchase_summary as (
    select
        customer_key, cutoff,
        count(*) - 1 as bg_frequency,
        date_diff('day', min(purchase_day), max(purchase_day)) as bg_recency,
        date_diff('day', min(purchase_day), any_value(cutoff)) as bg_age,
        case when count(*) > 1
             then (sum(day_amount) - arg_min(day_amount, purchase_day)) / (count(*) - 1)
             else 0 end as bg_monetary,
        date_diff('day', max(purchase_day), any_value(cutoff)) as recency_days,
        case when count(*) > 1
             then date_diff('day', min(purchase_day), max(purchase_day)) / (count(*) - 1)
             else 0 end as days_between_purchases
    from purchase_days
    group by customer_key, cutoff
),
"""


def feature_sql(
    sources: FeatureSources,
    cutoffs: Sequence[datetime | str],
    *,
    sample_size: int | None = None,
    seed: int = 0,
    consent_table: str | None = None,
) -> str:
    """One row per (customer, cutoff) with CHURN_FEATURES (less the BG/NBD one) and the summary.

    Only rows with a timestamp strictly before the cutoff are read. `has_purchase` says
    whether the customer had bought anything by then (the churn model scores buyers only).
    """
    s = sources
    grid = _grid_ctes(sources, cutoffs, sample_size, seed, consent_table)
    head = grid + _orders_before_cte(s.orders)
    return f"""
with
{head}{_purchase_ctes()}order_stats as (
    select
        customer_key, cutoff,
        min(ordered_at) as first_order_at,
        count(*) filter (where is_purchase) as frequency,
        count(*) filter (where is_purchase and age_days < 30) as purchases_30d,
        count(*) filter (where is_purchase and age_days < 90) as purchases_90d,
        count(*) filter (where is_purchase and age_days >= 90 and age_days < 180)
            as purchases_prev_90d,
        count(*) filter (where is_purchase and age_days < 365) as purchases_365d,
        sum(netted_amount) as monetary,
        sum(netted_amount) filter (where age_days < 365) as monetary_365d,
        count(*) filter (where is_return and age_days < 90) as returns_90d,
        count(*) filter (where is_return and age_days < 365) as returns_365d,
        count(*) filter (where is_return) as returns,
        count(*) as orders
    from orders_before
    group by customer_key, cutoff
),
category_spend as (
    select ob.customer_key, ob.cutoff, coalesce(p.category, 'unknown') as category,
           sum(l.net_amount_reporting)::double as spend
    from orders_before as ob
    inner join {s.order_lines} as l on l.order_id = ob.order_id and l.channel = ob.channel
    left join {s.products} as p on p.product_id = l.product_id
    where ob.is_purchase and l.net_amount_reporting > 0
    group by all
),
category_mix as (
    select customer_key, cutoff, count(*) as categories_bought,
           max(spend) / nullif(sum(spend), 0) as top_category_share
    from category_spend group by customer_key, cutoff
),
events_before as (
    select grid.customer_key, grid.cutoff, e.session_id, e.event_name,
           date_diff('day', e.occurred_at, grid.cutoff) as age_days, e.occurred_at
    from {s.events} as e
    inner join grid on e.customer_key = grid.customer_key and e.occurred_at < grid.cutoff
),
event_stats as (
    select
        customer_key, cutoff,
        min(occurred_at) as first_event_at,
        count(distinct session_id) filter (where age_days < 30) as sessions_30d,
        count(distinct session_id) filter (where age_days < 90) as sessions_90d,
        count(distinct session_id) filter (where age_days >= 90 and age_days < 180)
            as sessions_prev_90d,
        count(*) filter (where event_name = 'product_view' and age_days < 90)
            as product_views_90d,
        count(*) filter (where event_name not in ('email_open', 'email_click') and age_days < 90)
            as web_events_90d,
        count(*) filter (
            where event_name not in ('email_open', 'email_click')
            and age_days >= 90 and age_days < 180
        ) as web_events_prev_90d,
        count(*) filter (where event_name = 'email_open' and age_days < 90) as email_opens_90d,
        count(*) filter (where event_name = 'email_open' and age_days >= 90 and age_days < 180)
            as email_opens_prev_90d,
        min(age_days) filter (where event_name not in ('email_open', 'email_click'))
            as last_visit_age_days,
        min(age_days) filter (where event_name = 'email_open') as last_email_open_age_days,
        count(*) filter (where event_name = 'email_click' and age_days < 90) as email_clicks_90d
    from events_before
    group by customer_key, cutoff
),
ticket_keys as (
    select source_record_id as ticket_id, customer_key
    from {s.identity_graph} where source_system = 'support'
),
ticket_stats as (
    select
        grid.customer_key, grid.cutoff,
        count(*) filter (where date_diff('day', t.opened_at, grid.cutoff) < 90) as tickets_90d,
        count(*) filter (where date_diff('day', t.opened_at, grid.cutoff) < 365) as tickets_365d,
        avg(t.satisfaction_score)::double as avg_satisfaction,
        count(*) filter (where t.satisfaction_score <= 2) as low_satisfaction_tickets,
        count(*) filter (
            where t.satisfaction_score <= 2 and date_diff('day', t.opened_at, grid.cutoff) < 90
        ) as low_satisfaction_tickets_90d
    from {s.tickets} as t
    inner join ticket_keys as k on k.ticket_id = t.ticket_id
    inner join grid on grid.customer_key = k.customer_key and t.opened_at < grid.cutoff
    group by all
),
customer_emails as (
    select distinct customer_key, email from {s.person_records} where email is not null
),
consent_at_cutoff as (
    select grid.customer_key, grid.cutoff,
           arg_max(c.is_granted, c.occurred_at) as is_granted
    from {s.consent_events} as c
    inner join customer_emails as ce
        on c.identifier_type = 'email' and c.identifier_match_key = ce.email
    inner join grid on grid.customer_key = ce.customer_key and c.occurred_at < grid.cutoff
    where c.purpose = 'email_marketing' and c.is_granted is not null
    group by all
),
joined as (
    select
        grid.customer_key,
        grid.cutoff,
        ps.bg_frequency is not null as has_purchase,
        least(os.first_order_at, es.first_event_at) as first_seen_at,
        ps.*  exclude (customer_key, cutoff),
        os.*  exclude (customer_key, cutoff, first_order_at),
        es.*  exclude (customer_key, cutoff, first_event_at),
        ts.*  exclude (customer_key, cutoff),
        cm.*  exclude (customer_key, cutoff),
        ca.is_granted as email_marketing_granted
    from grid
    left join purchase_summary as ps using (customer_key, cutoff)
    left join order_stats as os using (customer_key, cutoff)
    left join event_stats as es using (customer_key, cutoff)
    left join ticket_stats as ts using (customer_key, cutoff)
    left join category_mix as cm using (customer_key, cutoff)
    left join consent_at_cutoff as ca using (customer_key, cutoff)
)
select
    customer_key,
    cutoff,
    has_purchase,
    -- never bought: recency counts from the first sign of the customer (tenure)
    coalesce(recency_days, date_diff('day', first_seen_at, cutoff), 0)::double as recency_days,
    coalesce(frequency, 0)::double as frequency,
    coalesce(purchases_30d, 0)::double as purchases_30d,
    coalesce(purchases_90d, 0)::double as purchases_90d,
    coalesce(purchases_365d, 0)::double as purchases_365d,
    coalesce(monetary, 0)::double as monetary,
    coalesce(monetary_365d, 0)::double as monetary_365d,
    case when coalesce(frequency, 0) > 0
         then greatest(monetary, 0) / frequency else 0 end::double as avg_order_value,
    ((coalesce(purchases_90d, 0) - coalesce(purchases_prev_90d, 0))
        / (coalesce(purchases_90d, 0) + coalesce(purchases_prev_90d, 0) + 1))::double
        as purchase_trend,
    coalesce(date_diff('day', first_seen_at, cutoff), 0)::double as tenure_days,
    coalesce(days_between_purchases, 0)::double as days_between_purchases,
    -- 1 = a usual gap since the last purchase; one purchase only: against a year
    (coalesce(recency_days, 0) / coalesce(nullif(days_between_purchases, 0), 365))::double
        as overdue_ratio,
    coalesce(sessions_30d, 0)::double as sessions_30d,
    coalesce(sessions_90d, 0)::double as sessions_90d,
    coalesce(product_views_90d, 0)::double as product_views_90d,
    ((coalesce(web_events_90d, 0) - coalesce(web_events_prev_90d, 0))
        / (coalesce(web_events_90d, 0) + coalesce(web_events_prev_90d, 0) + 1))::double
        as event_trend,
    ((coalesce(sessions_90d, 0) - coalesce(sessions_prev_90d, 0))
        / (coalesce(sessions_90d, 0) + coalesce(sessions_prev_90d, 0) + 1))::double
        as session_trend,
    coalesce(email_opens_90d, 0)::double as email_opens_90d,
    coalesce(email_clicks_90d, 0)::double as email_clicks_90d,
    ((coalesce(email_opens_90d, 0) - coalesce(email_opens_prev_90d, 0))
        / (coalesce(email_opens_90d, 0) + coalesce(email_opens_prev_90d, 0) + 1))::double
        as email_open_trend,
    -- never seen: as long ago as the customer is old, so "never" reads as "long ago"
    coalesce(last_visit_age_days, date_diff('day', first_seen_at, cutoff), 0)::double
        as days_since_last_visit,
    coalesce(last_email_open_age_days, date_diff('day', first_seen_at, cutoff), 0)::double
        as days_since_last_email_open,
    coalesce(returns_90d, 0)::double as returns_90d,
    coalesce(returns_365d, 0)::double as returns_365d,
    case when coalesce(orders, 0) > 0 then returns / orders else 0 end::double as return_rate,
    coalesce(tickets_90d, 0)::double as tickets_90d,
    coalesce(tickets_365d, 0)::double as tickets_365d,
    -- no rated ticket: the scale's middle, so "never complained" is not "very unhappy"
    coalesce(avg_satisfaction, 3)::double as avg_satisfaction,
    coalesce(low_satisfaction_tickets, 0)::double as low_satisfaction_tickets,
    coalesce(low_satisfaction_tickets_90d, 0)::double as low_satisfaction_tickets_90d,
    case when email_marketing_granted then 1 else 0 end::double as email_marketing_consent,
    coalesce(categories_bought, 0)::double as categories_bought,
    coalesce(top_category_share, 0)::double as top_category_share,
    coalesce(bg_frequency, 0)::double as bg_frequency,
    coalesce(bg_recency, 0)::double as bg_recency,
    coalesce(bg_age, 0)::double as bg_age,
    coalesce(bg_monetary, 0)::double as bg_monetary
from joined
"""


def outcome_sql(
    sources: FeatureSources,
    cutoffs: Sequence[datetime | str],
    horizon_days: int,
    *,
    sample_size: int | None = None,
    seed: int = 0,
    consent_table: str | None = None,
) -> str:
    """Per (customer, cutoff): purchase days and net value in [cutoff, cutoff + horizon), and the
    churn label (no purchase in that window). Labels only; never joined into features."""
    s = sources
    return f"""
with
{_grid_ctes(sources, cutoffs, sample_size, seed, consent_table)}future as (
    select grid.customer_key, grid.cutoff,
           count(distinct date_trunc('day', o.ordered_at)) as future_purchases,
           sum(o.net_amount_reporting)::double as future_value
    from {s.orders} as o
    inner join grid on o.customer_key = grid.customer_key
        and o.ordered_at >= grid.cutoff
        and o.ordered_at < grid.cutoff + to_days({int(horizon_days)})
    where o.status = 'completed' and not coalesce(o.is_return, false)
    group by all
)
select grid.customer_key, grid.cutoff,
       coalesce(future.future_purchases, 0)::double as future_purchases,
       coalesce(future.future_value, 0)::double as future_value,
       coalesce(future.future_purchases, 0) = 0 as churned
from grid left join future using (customer_key, cutoff)
"""


def summary_sql(
    sources: FeatureSources,
    cutoffs: Sequence[datetime | str],
    *,
    sample_size: int | None = None,
    seed: int = 0,
    consent_table: str | None = None,
) -> str:
    """Only the BG/NBD summary per (customer, cutoff), for buyers before the cutoff (CLV)."""
    grid = _grid_ctes(sources, cutoffs, sample_size, seed, consent_table)
    head = grid + _orders_before_cte(sources.orders)
    return f"""
with
{head}{_purchase_ctes()}final as (
    select customer_key, cutoff, bg_frequency::double as bg_frequency,
           bg_recency::double as bg_recency, bg_age::double as bg_age,
           bg_monetary::double as bg_monetary
    from purchase_summary
)
select * from final
"""
