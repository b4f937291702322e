"""Compile validated rule-segment definitions into the text of dbt models.

Each segment becomes `models/intermediate/segments/rules/int_segment_<name>_members.sql`
(an intermediate model: the product analysts and email tools read is `segment_membership`,
which carries the contract): one CTE (plus helper CTEs
where needed) per distinct behaviour aggregate (events or orders in a trailing window ending at
`as_of`, grouped by customer in DuckDB), left-joined to the trait table and filtered by the
rule. Every leaf is made two-valued (`coalesce(..., false)`, missing behaviour counts as 0) so
`not` means what an analyst expects: a customer with no country is "not in GB". The templates
are written to pass the repo's sqlfluff rules. The union of all segments
feeds `segment_membership` through `int_rule_segment_members_unioned`.
"""

import json
from collections.abc import Iterable
from typing import Any

import yaml

from python_models.segments.catalog import BEHAVIOURS
from python_models.segments.definitions import (
    AllCondition,
    AnyCondition,
    BehaviourCondition,
    Condition,
    NotCondition,
    SegmentDefinition,
    TraitCondition,
)

DEFINITIONS_PATH = "segments/segments.yml"
RULES_DIR = "models/intermediate/segments/rules"
UNION_MODEL_PATH = "models/intermediate/segments/int_rule_segment_members_unioned.sql"
GENERATED_MARK = "generated from segments.yml — do not edit"
SQL_HEADER = (
    f"-- {GENERATED_MARK}.\n"
    f"-- Change dbt_project/{DEFINITIONS_PATH}, then run\n"
    "-- `customer360 segments compile`.\n"
)
YAML_HEADER = SQL_HEADER.replace("-- ", "# ")

# Behaviour aggregates, each one or more CTEs at the top level of the model. `{cte}` is the
# aggregate's CTE name (helpers are prefixed with it, so they never collide) and
# {window_on_...} the window predicate on the source's timestamp column.
BEHAVIOUR_SQL: dict[str, str] = {
    "event_count": """{cte} as (
    select
        customer_key,
        count(*) as metric_value
    from events
    where
        customer_key is not null
        and event_name = {event}
        and {window_on_occurred_at}
    group by customer_key
)""",
    "distinct_products_viewed": """{cte} as (
    select
        customer_key,
        count(distinct product_id) as metric_value
    from events
    where
        customer_key is not null
        and event_name = 'product_view'
        and {window_on_occurred_at}
    group by customer_key
)""",
    "max_views_of_one_product": """{cte} as (
    select
        customer_key,
        max(product_views) as metric_value
    from (
        select
            customer_key,
            product_id,
            count(*) as product_views
        from events
        where
            customer_key is not null
            and event_name = 'product_view'
            and product_id is not null
            and {window_on_occurred_at}
        group by customer_key, product_id
    ) as views_per_product
    group by customer_key
)""",
    "abandoned_cart_value": """{cte}_carts as (
    select
        customer_key,
        session_id,
        max(cart_value) as peak_cart_value,
        max(occurred_at) as last_added_at
    from events
    where
        customer_key is not null
        and event_name = 'add_to_cart'
        and {window_on_occurred_at}
    group by customer_key, session_id
),

{cte}_purchases as (
    select
        customer_key,
        max(occurred_at) as last_purchased_at
    from events
    where
        customer_key is not null
        and event_name = 'purchase'
        and {window_on_occurred_at}
    group by customer_key
),

{cte} as (
    select
        carts.customer_key,
        max(carts.peak_cart_value) as metric_value
    from {cte}_carts as carts
    left join {cte}_purchases as purchases
        on carts.customer_key = purchases.customer_key
    where
        purchases.last_purchased_at is null
        or purchases.last_purchased_at < carts.last_added_at
    group by carts.customer_key
)""",
    "sessions": """{cte} as (
    select
        customer_key,
        count(distinct session_id) as metric_value
    from events
    where
        customer_key is not null
        and session_id is not null
        and {window_on_occurred_at}
    group by customer_key
)""",
    "avg_session_minutes": """{cte} as (
    select
        customer_key,
        avg(session_seconds) / 60.0 as metric_value
    from (
        select
            customer_key,
            session_id,
            {{{{ dbt.datediff('min(occurred_at)', 'max(occurred_at)', 'second') }}}}
                as session_seconds
        from events
        where
            customer_key is not null
            and session_id is not null
            and {window_on_occurred_at}
        group by customer_key, session_id
    ) as session_lengths
    group by customer_key
)""",
    "spend": """{cte} as (
    select
        customer_key,
        sum(
            case
                when status = 'cancelled' then 0
                when coalesce(is_return, false) then -abs(net_amount_reporting)
                else net_amount_reporting
            end
        ) as metric_value
    from orders
    where
        customer_key is not null
        and {window_on_ordered_at}
    group by customer_key
)""",
    "orders": """{cte} as (
    select
        customer_key,
        count(*) as metric_value
    from orders
    where
        customer_key is not null
        and status = 'completed'
        and not coalesce(is_return, false)
        and {window_on_ordered_at}
    group by customer_key
)""",
}

OPERATOR_WORDS = {
    "=": "=",
    "!=": "≠",
    ">": ">",
    ">=": "≥",
    "<": "<",
    "<=": "≤",
    "in": "in",
    "not_in": "not in",
    "between": "between",
    "is_null": "is empty",
    "is_not_null": "is set",
}


def segment_model_name(segment_name: str) -> str:
    """The dbt model (and intermediate table) that holds one rule segment's members."""
    return f"int_segment_{segment_name}_members"


def sql_literal(value: Any) -> str:
    """A SQL literal for a validated YAML scalar; strings are quoted with '' escaping."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot render {value!r} as a SQL literal")


def behaviour_cte_name(condition: BehaviourCondition) -> str:
    parts = [condition.behaviour, condition.event or "", condition.window.text]
    return "_".join(part for part in parts if part)


def comparison_sql(column: str, op: str, value: Any) -> str:
    if op == "is_null":
        return f"{column} is null"
    if op == "is_not_null":
        return f"{column} is not null"
    if op == "between":
        return f"{column} between {sql_literal(value[0])} and {sql_literal(value[1])}"
    if op in {"in", "not_in"}:
        items = ", ".join(sql_literal(item) for item in value)
        return f"{column} {'in' if op == 'in' else 'not in'} ({items})"
    return f"{column} {'<>' if op == '!=' else op} {sql_literal(value)}"


def condition_sql(condition: Condition, indent: int = 2) -> str:
    """The boolean SQL for a rule; every leaf is two-valued (never null)."""
    pad = "    " * indent
    match condition:
        case TraitCondition(trait=trait, op=op, value=value):
            compared = comparison_sql(f"traits.{trait}", op, value)
            return compared if op in {"is_null", "is_not_null"} else f"coalesce({compared}, false)"
        case BehaviourCondition():
            column = f"coalesce({behaviour_cte_name(condition)}.metric_value, 0)"
            return comparison_sql(column, condition.op, condition.value)
        case AllCondition(conditions=children) | AnyCondition(conditions=children):
            joiner = " and " if isinstance(condition, AllCondition) else " or "
            inner = f"\n{pad}    {joiner.strip()} ".join(
                condition_sql(child, indent + 1) for child in children
            )
            return f"(\n{pad}    {inner}\n{pad})"
        case NotCondition(condition=child):
            return f"not {condition_sql(child, indent)}"
    raise TypeError(f"unknown condition {condition!r}")


def describe_condition(condition: Condition) -> str:
    """A one-line English reading of a rule, for model docs."""
    match condition:
        case TraitCondition(trait=trait, op=op, value=value):
            shown = "" if value is None else f" {json.dumps(value)}"
            return f"{trait} {OPERATOR_WORDS[op]}{shown}"
        case BehaviourCondition():
            subject = condition.behaviour + (f"({condition.event})" if condition.event else "")
            return (
                f"{subject} in last {condition.window.text} "
                f"{OPERATOR_WORDS[condition.op]} {json.dumps(condition.value)}"
            )
        case AllCondition(conditions=children):
            return "all of [" + "; ".join(describe_condition(child) for child in children) + "]"
        case AnyCondition(conditions=children):
            return "any of [" + "; ".join(describe_condition(child) for child in children) + "]"
        case NotCondition(condition=child):
            return f"not ({describe_condition(child)})"
    raise TypeError(f"unknown condition {condition!r}")


def behaviour_conditions(condition: Condition) -> Iterable[BehaviourCondition]:
    match condition:
        case BehaviourCondition():
            yield condition
        case AllCondition(conditions=children) | AnyCondition(conditions=children):
            for child in children:
                yield from behaviour_conditions(child)
        case NotCondition(condition=child):
            yield from behaviour_conditions(child)


def _window_predicate(column: str, condition: BehaviourCondition) -> str:
    start = f"{{{{ segments_window_start({condition.window.amount}, '{condition.window.unit}') }}}}"
    return f"{column} > {start} and {column} <= {{{{ segments_as_of() }}}}"


def segment_model_sql(definition: SegmentDefinition) -> str:
    """The dbt model `int_segment_<name>_members`: customer_key, segment, as_of per member."""
    behaviours: dict[str, BehaviourCondition] = {}
    for condition in behaviour_conditions(definition.rule):
        behaviours.setdefault(behaviour_cte_name(condition), condition)
    sources = {BEHAVIOURS[condition.behaviour].source for condition in behaviours.values()}

    imports = ["traits as (\n    select * from {{ ref('int_customer_traits_joined') }}\n)"]
    if "events" in sources:
        imports.append("events as (\n    select * from {{ ref('int_events_keyed') }}\n)")
    if "orders" in sources:
        imports.append("orders as (\n    select * from {{ ref('int_orders_keyed') }}\n)")
    aggregates = []
    joins = []
    for cte_name, condition in sorted(behaviours.items()):
        body = BEHAVIOUR_SQL[condition.behaviour].format(
            cte=cte_name,
            event=sql_literal(condition.event) if condition.event else "",
            window_on_occurred_at=_window_predicate("occurred_at", condition),
            window_on_ordered_at=_window_predicate("ordered_at", condition),
        )
        aggregates.append(body)
        joins.append(
            f"    left join {cte_name}\n        on traits.customer_key = {cte_name}.customer_key"
        )
    final = (
        "final as (\n"
        "    select\n"
        "        traits.customer_key,\n"
        f"        {sql_literal(definition.name)} as segment,\n"
        "        {{ segments_as_of() }} as as_of\n"
        "    from traits\n"
        + "".join(f"{join}\n" for join in joins)
        + f"    where {condition_sql(definition.rule, 1)}\n"
        ")"
    )
    ctes = ",\n\n".join([*imports, *aggregates, final])
    description = " ".join(definition.description.split())
    return (
        f"{SQL_HEADER}"
        f"-- {definition.name}: {description}\n"
        f"-- owner: {definition.owner}\n\n"
        "{{ config(materialized='table', tags=['segment', 'rule_segment']) }}\n\n"
        f"with\n\n{ctes}\n\nselect * from final\n"
    )


def rules_models_yaml(definitions: list[SegmentDefinition]) -> str:
    """`_rules__models.yml`: docs, owner, types and tests for every generated model."""
    models = []
    for definition in definitions:
        models.append(
            {
                "name": segment_model_name(definition.name),
                "description": (
                    f"{' '.join(definition.description.split())} "
                    f"Rule: {describe_condition(definition.rule)}. Owner: {definition.owner}."
                ),
                "config": {
                    "meta": {"owner": definition.owner, "segment_tags": list(definition.tags)},
                },
                "columns": [
                    {
                        "name": "customer_key",
                        "data_type": "varchar",
                        "description": "A member of the segment at as_of.",
                        "data_tests": ["unique", "not_null"],
                    },
                    {
                        "name": "segment",
                        "data_type": "varchar",
                        "description": "The segment name as written in segments.yml.",
                    },
                    {
                        "name": "as_of",
                        "data_type": "timestamp",
                        "description": "The run's 'now' (dbt var as_of).",
                    },
                ],
            }
        )
    body = yaml.safe_dump(
        {"version": 2, "models": models}, sort_keys=False, allow_unicode=True, width=100
    )
    return YAML_HEADER + body


def union_model_sql(definitions: list[SegmentDefinition]) -> str:
    """`int_rule_segment_members_unioned`: every rule segment's members, one row each."""
    if not definitions:
        selects = (
            "    select\n"
            "        cast(null as varchar) as customer_key,\n"
            "        cast(null as varchar) as segment\n"
            "    where false"
        )
    else:
        selects = "\n    union all\n".join(
            "    select\n"
            "        customer_key,\n"
            "        segment\n"
            f"    from {{{{ ref('{segment_model_name(definition.name)}') }}}}"
            for definition in definitions
        )
    return (
        f"{SQL_HEADER}\n"
        "with\n\n"
        f"rule_segment_members as (\n{selects}\n),\n\n"
        "final as (\n"
        "    select\n"
        "        customer_key,\n"
        "        segment,\n"
        "        'rule' as segment_type\n"
        "    from rule_segment_members\n"
        ")\n\n"
        "select * from final\n"
    )


def compile_segments(definitions: list[SegmentDefinition]) -> dict[str, str]:
    """Every generated file, as {path relative to dbt_project/: text}."""
    ordered = sorted(definitions, key=lambda definition: definition.name)
    files = {
        f"{RULES_DIR}/{segment_model_name(definition.name)}.sql": segment_model_sql(definition)
        for definition in ordered
    }
    files[f"{RULES_DIR}/_rules__models.yml"] = rules_models_yaml(ordered)
    files[UNION_MODEL_PATH] = union_model_sql(ordered)
    return files


def generated_files_are_stale(
    expected: dict[str, str], existing_generated: dict[str, str]
) -> list[str]:
    """Paths whose committed text differs from a fresh compile, plus leftovers to delete.

    `existing_generated` maps each committed file carrying the generated mark to its text.
    """
    stale = [path for path, text in expected.items() if existing_generated.get(path) != text]
    leftovers = [path for path in existing_generated if path not in expected]
    return sorted(stale + leftovers)
