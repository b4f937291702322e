"""What a rule may test: the profile traits and behaviour metrics, with their types.

The traits are the columns of `int_customer_traits_joined`; the behaviours are aggregates of
`int_events_keyed` / `int_orders_keyed` (the rows of `fct_events` / `fct_orders`) over a
trailing window ending at `as_of`. A rule that names anything not listed here is rejected
before dbt runs.
"""

from dataclasses import dataclass
from enum import StrEnum


def segment_name(display_name: str) -> str:
    """A display name as the segment name `segment_membership` uses: "Can't Lose Them" ->
    cant_lose_them. The same rule as the dbt macro `segment_name` (macros/segments_names.sql)."""
    return display_name.strip().replace("'", "").replace(" ", "_").lower()


class ValueType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Trait:
    name: str
    value_type: ValueType
    description: str


@dataclass(frozen=True)
class Behaviour:
    name: str
    description: str
    needs_event: bool = False
    source: str = "events"  # events | orders


TRAITS: dict[str, Trait] = {
    trait.name: trait
    for trait in [
        Trait("country", ValueType.STRING, "ISO country code of the golden record"),
        Trait("age", ValueType.NUMBER, "age in whole years at as_of"),
        Trait("age_band", ValueType.STRING, "band from the segment_age_bands seed, e.g. 25-34"),
        Trait("consent_email_marketing", ValueType.BOOLEAN, "email marketing consent"),
        Trait("consent_personalization", ValueType.BOOLEAN, "personalisation consent"),
        Trait("consent_analytics", ValueType.BOOLEAN, "analytics consent"),
        Trait("rfm_segment", ValueType.STRING, "named RFM segment, e.g. Champions"),
        Trait("r_score", ValueType.NUMBER, "RFM recency score 1-5"),
        Trait("f_score", ValueType.NUMBER, "RFM frequency score 1-5"),
        Trait("m_score", ValueType.NUMBER, "RFM monetary score 1-5"),
        Trait("churn_band", ValueType.STRING, "churn risk band (null until churn joins back)"),
        Trait("cluster_id", ValueType.NUMBER, "micro-segment cluster (null until joined back)"),
        Trait("lifetime_orders", ValueType.NUMBER, "completed purchases up to as_of"),
        Trait("lifetime_spend", ValueType.NUMBER, "net spend up to as_of, reporting currency"),
        Trait("days_since_last_order", ValueType.NUMBER, "days since the last purchase"),
        Trait("days_since_first_order", ValueType.NUMBER, "days since the first purchase"),
        Trait("days_since_first_seen", ValueType.NUMBER, "days since first seen anywhere"),
    ]
}

BEHAVIOURS: dict[str, Behaviour] = {
    behaviour.name: behaviour
    for behaviour in [
        Behaviour("event_count", "number of events named `event` in the window", True),
        Behaviour("distinct_products_viewed", "distinct products with a product_view"),
        Behaviour("max_views_of_one_product", "most product_view events on a single product"),
        Behaviour(
            "abandoned_cart_value",
            "largest cart value of a session with add_to_cart and no purchase after it",
        ),
        Behaviour("sessions", "distinct sessions with an event in the window"),
        Behaviour("avg_session_minutes", "mean of (last event - first event) per session"),
        Behaviour("spend", "net spend (returns netted), reporting currency", source="orders"),
        Behaviour("orders", "completed purchases (online and store)", source="orders"),
    ]
}

EVENT_NAMES: frozenset[str] = frozenset(
    {
        "page_view",
        "product_view",
        "search",
        "add_to_cart",
        "remove_from_cart",
        "checkout_start",
        "purchase",
        "email_open",
        "email_click",
        "login",
    }
)

COMPARISON_OPERATORS = frozenset({"=", "!=", ">", ">=", "<", "<="})
OPERATORS_BY_TYPE: dict[ValueType, frozenset[str]] = {
    ValueType.NUMBER: COMPARISON_OPERATORS | {"between", "in", "not_in", "is_null", "is_not_null"},
    ValueType.STRING: frozenset({"=", "!=", "in", "not_in", "is_null", "is_not_null"}),
    ValueType.BOOLEAN: frozenset({"=", "!=", "is_null", "is_not_null"}),
}
BEHAVIOUR_OPERATORS = COMPARISON_OPERATORS | {"between"}
