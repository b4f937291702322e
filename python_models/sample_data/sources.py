"""Render one chunk of people into the records each source system would hold.

Each `build_*` function is pure: people + a numpy Generator in, Arrow tables (columns in
contract order, VARCHAR-like strings) plus ground-truth rows out. When and how often people
buy, browse, read newsletters and complain comes from `behaviour.py` (purchase cycles,
engagement, seasonality, and the fade or upset before someone leaves); this module turns
those moments into records. Heavy tables (events, order lines) are built with numpy only;
Python loops touch just the small fraction of rows that get messed up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from python_models.sample_data import behaviour as bh
from python_models.sample_data import messiness as mx
from python_models.sample_data import reference as ref
from python_models.sample_data.config import SECONDS_PER_DAY, GeneratorConfig
from python_models.sample_data.people import (
    ABANDON_PROPENSITY,
    DISCOUNT_PROPENSITY,
    EMAIL_OPEN_RATE,
    ORDER_RATE,
    POS_RATE,
    SESSION_RATE,
    TICKET_RATE,
    chunk_ids,
)

SECONDS_PER_YEAR = 365.25 * SECONDS_PER_DAY
# Share of online orders with a browsing visit in the 1-21 days before them.
RESEARCH_SHARE = 0.6
OFFSETS_MINUTES = np.array([60, 120, -300, -240, 330])


@dataclass
class Catalog:
    """The product catalogue as arrays (index = product position)."""

    product_id: np.ndarray
    name: np.ndarray
    category_idx: np.ndarray
    tags: np.ndarray
    price_gbp: np.ndarray
    by_category: list[np.ndarray]

    def to_table(self) -> pa.Table:
        categories = np.array(list(ref.CATEGORIES), dtype=object)
        return pa.table(
            {
                "product_id": self.product_id,
                "name": self.name,
                "category": categories[self.category_idx],
                "tags": self.tags,
                "price": money(self.price_gbp),
                "currency": np.full(len(self.product_id), "GBP", dtype=object),
            }
        )


@dataclass
class ChunkOutput:
    """All tables of one chunk, plus truth rows and mess counters."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    truth: list[pd.DataFrame] = field(default_factory=list)
    stats: Counter = field(default_factory=Counter)


# --------------------------------------------------------------------------- helpers


def money(values: np.ndarray) -> pa.Array:
    """Format amounts with two decimals ('12.50'), as a source file would."""
    cents = np.round(np.asarray(values, dtype=np.float64) * 100).astype(np.int64)
    return _cents_to_text(cents)


def _cents_to_text(cents: np.ndarray) -> pa.Array:
    sign = np.where(cents < 0, "-", "")
    absolute = np.abs(cents)
    whole = pa.array(absolute // 100).cast(pa.string())
    frac = pc.utf8_lpad(pa.array(absolute % 100).cast(pa.string()), 2, "0")
    return pc.binary_join_element_wise(pa.array(sign), whole, ".", frac, "")


def nullable(values: np.ndarray | list) -> pa.Array:
    """String array with '' and None as NULL (empty CSV cell)."""
    arr = pa.array(values, type=pa.string(), from_pandas=True)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def iso_local(seconds: np.ndarray | pa.Array) -> pa.Array:
    """'2026-11-01T09:30:00' for epoch seconds (Arrow's cast is far faster than strftime)."""
    text = pa.array(seconds, pa.int64()).cast(pa.timestamp("s")).cast(pa.string())
    return pc.utf8_replace_slice(text, 10, 11, "T")


def format_timestamps(
    seconds: np.ndarray, rng: np.random.Generator | None = None, offset_rate: float = 0.0
) -> pa.Array:
    """ISO 8601: mostly `...Z`; with `offset_rate`, some as local time with `+hh:mm`."""
    seconds = np.asarray(seconds, dtype=np.int64)
    n = len(seconds)
    if rng is None or offset_rate <= 0:
        return pc.binary_join_element_wise(iso_local(seconds), "Z", "")
    with_offset = rng.random(n) < offset_rate
    minutes = np.where(with_offset, OFFSETS_MINUTES[rng.integers(0, len(OFFSETS_MINUTES), n)], 0)
    text = iso_local(seconds + minutes * 60)
    suffix = np.array(
        [
            "Z" if m == 0 else f"{'+' if m > 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
            for m in minutes.tolist()
        ],
        dtype=object,
    )
    return pc.binary_join_element_wise(text, pa.array(suffix, pa.string()), "")


def time_ranked_ids(prefix: str, chunk_index: int, times: np.ndarray) -> np.ndarray:
    """Ids that increase with time inside a chunk, like a sequence in the source system."""
    order = np.argsort(times, kind="stable")
    rank = np.empty(len(times), dtype=np.int64)
    rank[order] = np.arange(len(times))
    return chunk_ids(prefix, chunk_index, rank)


def purchase_channels(
    people: pd.DataFrame, config: GeneratorConfig, rng: np.random.Generator
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Each person's purchase occasions (behaviour.purchase_occasions), split into online
    orders and store visits by their profile's rates; only loyalty members' store visits are
    theirs to see (the rest are anonymous walk-ins). ((owner, time) online, the same in store)."""
    profile = people["profile_idx"].to_numpy()
    engagement = people["engagement"].to_numpy()
    online_rate = ORDER_RATE[profile] * engagement
    store_rate = np.where(people["has_loyalty"].to_numpy(), POS_RATE[profile] * engagement, 0.0)
    owners, times = bh.purchase_occasions(people, online_rate + store_rate, config, rng)
    in_store = rng.random(len(owners)) < (store_rate / (online_rate + store_rate))[owners]
    return (owners[~in_store], times[~in_store]), (owners[in_store], times[in_store])


def messy_names(
    rng: np.random.Generator,
    given: np.ndarray,
    family: np.ndarray,
    config: GeneratorConfig,
    stats: Counter,
    source: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Nicknames, typos and swapped first/last names at the configured rates."""
    mess = config.messiness
    n = len(given)
    nick = mx.pick_mask(rng, n, mess.nickname_rate)
    nick &= np.array([g in ref.NICKNAMES for g in given.tolist()], dtype=bool)
    given = mx.apply_to_masked(given, nick, mx.nickname, rng)
    typo_given = mx.pick_mask(rng, n, mess.typo_rate)
    typo_family = mx.pick_mask(rng, n, mess.typo_rate)
    given = mx.apply_to_masked(given, typo_given, mx.typo, rng)
    family = mx.apply_to_masked(family, typo_family, mx.typo, rng)
    swap = mx.pick_mask(rng, n, mess.swapped_names_rate)
    given, family = np.where(swap, family, given), np.where(swap, given, family)
    stats[f"{source}.name_fields"] += 2 * n
    stats[f"{source}.name_typos"] += int(typo_given.sum() + typo_family.sum())
    stats[f"{source}.records"] += n
    stats[f"{source}.nicknames"] += int(nick.sum())
    stats[f"{source}.swapped_names"] += int(swap.sum())
    return given, family


def messy_emails(
    rng: np.random.Generator,
    people: pd.DataFrame,
    owners: np.ndarray,
    config: GeneratorConfig,
    stats: Counter,
    source: str,
    missing_rate: float,
    second_email_share: float = 0.35,
) -> np.ndarray:
    """The e-mail a record holds: a variant of the person's, their second one, a shared
    generic address, or nothing."""
    mess = config.messiness
    n = len(owners)
    base = people["email"].to_numpy()[owners]
    second = people["second_email"].to_numpy()[owners]
    use_second = (second != "") & (rng.random(n) < second_email_share)
    emails = np.where(use_second, second, base)
    variant = mx.pick_mask(rng, n, mess.email_variant_rate)
    emails = mx.apply_to_masked(emails, variant, mx.email_variant, rng)
    generic = mx.pick_mask(rng, n, mess.generic_email_rate)
    emails = np.where(
        generic, np.array(ref.GENERIC_EMAILS, dtype=object)[rng.integers(0, 5, n)], emails
    )
    missing = mx.pick_mask(rng, n, missing_rate) & ~generic
    emails = np.where(missing, "", emails)
    stats[f"{source}.email_rows"] += n
    stats[f"{source}.email_variants"] += int((variant & ~generic & ~missing).sum())
    stats[f"{source}.email_second_address"] += int((use_second & ~generic & ~missing).sum())
    stats[f"{source}.email_generic"] += int(generic.sum())
    stats[f"{source}.email_missing"] += int(missing.sum())
    return emails


def messy_phones(
    rng: np.random.Generator,
    people: pd.DataFrame,
    owners: np.ndarray,
    stats: Counter,
    source: str,
    missing_rate: float,
) -> np.ndarray:
    """A phone in one of many formats; sometimes the household landline instead."""
    n = len(owners)
    country = people["country"].to_numpy()[owners]
    mobile = people["mobile"].to_numpy()[owners]
    landline = people["landline"].to_numpy()[owners]
    use_landline = (landline != "") & (rng.random(n) < 0.3)
    national = np.where(use_landline, landline, mobile)
    styles = rng.choice(len(mx.PHONE_STYLE_WEIGHTS), size=n, p=mx.PHONE_STYLE_WEIGHTS)
    missing = mx.pick_mask(rng, n, missing_rate)
    phones = np.array(
        [
            "" if miss else mx.format_phone(ref.COUNTRY_CALLING_CODE[c], nat, st)
            for c, nat, st, miss in zip(
                country.tolist(), national.tolist(), styles.tolist(), missing.tolist(), strict=True
            )
        ],
        dtype=object,
    )
    stats[f"{source}.phone_rows"] += n
    stats[f"{source}.phone_not_e164"] += int(((styles != 0) & ~missing).sum())
    stats[f"{source}.phone_household_landline"] += int((use_landline & ~missing).sum())
    stats[f"{source}.phone_missing"] += int(missing.sum())
    return phones


def address_at(
    people: pd.DataFrame, owners: np.ndarray, at: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Address in force at time `at` (old address before a move); returns (street, city,
    postcode, is_old)."""
    moved_at = people["moved_at"].to_numpy()[owners]
    old = (moved_at > 0) & (at < moved_at)
    pick = {
        col: np.where(old, people[f"old_{col}"].to_numpy()[owners], people[col].to_numpy()[owners])
        for col in ("street", "city", "postcode")
    }
    return pick["street"], pick["city"], pick["postcode"], old


def messy_postcodes(rng: np.random.Generator, postcodes: np.ndarray, rate: float) -> np.ndarray:
    mask = mx.pick_mask(rng, len(postcodes), rate)
    return mx.apply_to_masked(
        postcodes, mask, lambda p, r: p.replace(" ", "") if r.random() < 0.6 else p.lower(), rng
    )


def dictionary_array(codes: np.ndarray, dictionary: np.ndarray | pa.Array) -> pa.Array:
    """Strings stored as codes into a small dictionary; code -1 means NULL."""
    codes = np.asarray(codes, dtype=np.int64)
    indices = pa.array(np.maximum(codes, 0).astype(np.int32), mask=codes < 0)
    values = dictionary if isinstance(dictionary, pa.Array) else pa.array(dictionary, pa.string())
    return pa.DictionaryArray.from_arrays(indices, values)


def truth_frame(system: str, record_ids: np.ndarray, person_ids: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"source_system": system, "source_record_id": record_ids, "person_id": person_ids}
    )


def pick_products(
    rng: np.random.Generator, catalog: Catalog, pref1: np.ndarray, pref2: np.ndarray
) -> np.ndarray:
    """A product per row: 70% from the buyer's favourite categories, else anything."""
    n = len(pref1)
    category = np.where(rng.random(n) < 0.5, pref1, pref2)
    anything = rng.random(n) < 0.3
    products = rng.integers(0, len(catalog.product_id), n)
    for c, members in enumerate(catalog.by_category):
        m = (category == c) & ~anything
        if m.any():
            products[m] = members[rng.integers(0, len(members), int(m.sum()))]
    return products


# --------------------------------------------------------------------------- catalog


def make_catalog(config: GeneratorConfig, rng: np.random.Generator) -> Catalog:
    """About 500 products (growing slowly with scale), priced around each category's norm."""
    n = int(min(2000, 500 + config.customers // 2000))
    categories = list(ref.CATEGORIES)
    category_idx = rng.integers(0, len(categories), n)
    names = []
    for i, c in enumerate(category_idx.tolist()):
        nouns = ref.CATEGORIES[categories[c]][0]
        names.append(
            f"{ref.PRODUCT_ADJECTIVES[rng.integers(0, len(ref.PRODUCT_ADJECTIVES))]} "
            f"{ref.PRODUCT_COLOURS[rng.integers(0, len(ref.PRODUCT_COLOURS))]} "
            f"{nouns[rng.integers(0, len(nouns))]} {i % 97 + 1}"
        )
    base = np.array([ref.CATEGORIES[categories[c]][1] for c in category_idx])
    price = np.round(base * rng.lognormal(0.0, 0.45, n), 0) - 0.01
    price = np.maximum(price, 2.99)
    tags = [
        "|".join(sorted(set(rng.choice(ref.PRODUCT_TAGS, size=rng.integers(1, 4)).tolist())))
        for _ in range(n)
    ]
    return Catalog(
        product_id=np.array([f"SKU-{i + 1:05d}" for i in range(n)], dtype=object),
        name=np.array(names, dtype=object),
        category_idx=category_idx,
        tags=np.array(tags, dtype=object),
        price_gbp=price,
        by_category=[np.flatnonzero(category_idx == c) for c in range(len(categories))],
    )


# --------------------------------------------------------------------------- sources


def build_crm(
    people: pd.DataFrame,
    config: GeneratorConfig,
    chunk_index: int,
    rng: np.random.Generator,
    out: ChunkOutput,
) -> np.ndarray:
    """CRM contacts (with a few duplicate contacts per person). Returns each person's first
    crm_id ('' when none) so orders can quote it."""
    mess = config.messiness
    members = np.flatnonzero(people["has_crm"].to_numpy())
    dup = members[rng.random(len(members)) < mess.duplicate_crm_rate]
    owners = np.concatenate([members, dup])
    n = len(owners)
    first_seen = people["first_seen"].to_numpy()[owners]
    end_at = people["end_at"].to_numpy()[owners]
    created = np.minimum(first_seen + rng.integers(0, 60 * SECONDS_PER_DAY, n), end_at)
    is_dup = np.arange(n) >= len(members)
    created = np.where(
        is_dup, created + ((end_at - created) * rng.random(n)).astype(np.int64), created
    )
    updated = created + ((end_at - created) * rng.random(n) ** 2).astype(np.int64)
    crm_ids = time_ranked_ids("C", chunk_index, created)

    given, family = messy_names(
        rng,
        people["given_name"].to_numpy()[owners],
        people["family_name"].to_numpy()[owners],
        config,
        out.stats,
        "crm",
    )
    emails = messy_emails(rng, people, owners, config, out.stats, "crm", mess.missing_field_rate)
    phones = messy_phones(rng, people, owners, out.stats, "crm", 2 * mess.missing_field_rate)
    street, city, postcode, old = address_at(people, owners, updated)
    abbreviate = mx.pick_mask(rng, n, 0.1)
    street = mx.apply_to_masked(street, abbreviate, lambda s, r: mx.abbreviate_street(s), rng)
    postcode = messy_postcodes(rng, postcode, 0.1)
    out.stats["crm.old_address"] += int(old.sum())
    birth = people["birth_date"].to_numpy()[owners]
    birth = np.where(mx.pick_mask(rng, n, 0.1), "", birth)
    country = people["country"].to_numpy()[owners]
    country = np.where(mx.pick_mask(rng, n, mess.missing_field_rate / 2), "", country)
    out.stats["crm.duplicate_contacts"] += len(dup)

    out.tables["crm_contacts"] = pa.table(
        {
            "crm_id": crm_ids,
            "first_name": nullable(given),
            "last_name": nullable(family),
            "email": nullable(emails),
            "phone": nullable(phones),
            "street": nullable(street),
            "city": nullable(city),
            "postcode": nullable(postcode),
            "country": nullable(country),
            "birth_date": nullable(birth),
            "created_at": format_timestamps(created, rng, mess.offset_timestamp_rate),
            "updated_at": format_timestamps(updated),
        }
    )
    out.truth.append(truth_frame("crm", crm_ids, people["person_id"].to_numpy()[owners]))
    first_crm = np.full(len(people), "", dtype=object)
    first_crm[members] = crm_ids[: len(members)]
    return first_crm


def build_shop(
    people: pd.DataFrame,
    first_crm: np.ndarray,
    catalog: Catalog,
    config: GeneratorConfig,
    chunk_index: int,
    rng: np.random.Generator,
    out: ChunkOutput,
    occasions: tuple[np.ndarray, np.ndarray],
) -> pd.DataFrame:
    """Online orders and their lines, one per online purchase occasion (owner, epoch second).
    Returns the orders (id, owner, time, logged in, value) the web builder turns into
    purchase sessions."""
    mess = config.messiness
    profile = people["profile_idx"].to_numpy()
    owners, ordered = occasions
    n = len(owners)
    order_ids = time_ranked_ids("O", chunk_index, ordered)
    has_account = people["has_account"].to_numpy()[owners]
    logged_in = has_account & (rng.random(n) < 0.85)
    user_ids = np.where(logged_in, people["user_id"].to_numpy()[owners], "")
    crm_ids = np.where(rng.random(n) < 0.25, first_crm[owners], "")
    # Guests must give an e-mail; account holders' orders sometimes lack it in the export.
    emails = messy_emails(rng, people, owners, config, out.stats, "shop", 0.0)
    emails = np.where(logged_in & (rng.random(n) < 0.08), "", emails)
    given, family = messy_names(
        rng,
        people["given_name"].to_numpy()[owners],
        people["family_name"].to_numpy()[owners],
        config,
        out.stats,
        "shop",
    )
    phones = messy_phones(rng, people, owners, out.stats, "shop", 0.4)
    street, city, postcode, old = address_at(people, owners, ordered)
    out.stats["shop.old_address"] += int(old.sum())
    postcode = messy_postcodes(rng, postcode, 0.08)
    country = people["country"].to_numpy()[owners]
    currency = np.array([ref.COUNTRY_CURRENCY[c] for c in country.tolist()], dtype=object)
    fx = np.array([ref.FX_FROM_GBP[c] for c in currency.tolist()])
    # an upset customer sends more back
    upset_at = people["upset_at"].to_numpy()[owners]
    returned_share = np.where(ordered >= upset_at, bh.UPSET_RETURN_SHARE, bh.RETURN_SHARE)
    draw = rng.random(n)
    status = np.where(
        draw < returned_share,
        "returned",
        np.where(draw < returned_share + 0.05, "cancelled", "completed"),
    ).astype(object)

    # Lines: loyal customers fill bigger baskets.
    lines_per_order = 1 + rng.poisson(np.where(profile[owners] == 0, 1.6, 0.9))
    line_order = np.repeat(np.arange(n), lines_per_order)
    line_number = np.arange(len(line_order)) - np.repeat(
        np.cumsum(lines_per_order) - lines_per_order, lines_per_order
    )
    line_owner = owners[line_order]
    product = pick_products(
        rng,
        catalog,
        people["pref_category_1"].to_numpy()[line_owner],
        people["pref_category_2"].to_numpy()[line_owner],
    )
    quantity = 1 + rng.poisson(0.25, len(line_order))
    unit_price = np.round(catalog.price_gbp[product] * fx[line_order], 2)
    discounted = rng.random(len(line_order)) < DISCOUNT_PROPENSITY[profile[line_owner]]
    discount = np.where(
        discounted, np.round(unit_price * quantity * rng.uniform(0.1, 0.4, len(line_order)), 2), 0
    )
    net = np.bincount(line_order, weights=unit_price * quantity - discount, minlength=n)
    shipping = np.where(net >= 50 * fx, 0.0, np.round(3.95 * fx, 2))

    out.tables["shop_orders"] = pa.table(
        {
            "order_id": order_ids,
            "user_id": nullable(user_ids),
            "crm_id": nullable(crm_ids),
            "customer_email": nullable(emails),
            "first_name": nullable(given),
            "last_name": nullable(family),
            "phone": nullable(phones),
            "ship_street": nullable(street),
            "ship_city": nullable(city),
            "ship_postcode": nullable(postcode),
            "ship_country": nullable(country),
            "ordered_at": format_timestamps(ordered, rng, mess.offset_timestamp_rate),
            "status": status,
            "currency": currency,
            "shipping_amount": money(shipping),
        }
    )
    out.tables["shop_order_lines"] = pa.table(
        {
            "order_id": order_ids[line_order],
            "line_number": pa.array(line_number + 1).cast(pa.string()),
            "product_id": catalog.product_id[product],
            "quantity": pa.array(quantity).cast(pa.string()),
            "unit_price": money(unit_price),
            "discount": money(discount),
        }
    )
    out.truth.append(truth_frame("shop", order_ids, people["person_id"].to_numpy()[owners]))
    out.stats["shop.orders_with_user_id"] += int(logged_in.sum())
    out.stats["shop.orders_with_crm_id"] += int((crm_ids != "").sum())
    first_product = product[np.cumsum(lines_per_order) - lines_per_order]
    return pd.DataFrame(
        {
            "order_id": order_ids,
            "owner": owners,
            "ordered_at": ordered,
            "logged_in": logged_in,
            "value": net + shipping,
            "product": first_product,
        }
    )


def build_pos(
    people: pd.DataFrame,
    catalog: Catalog,
    config: GeneratorConfig,
    chunk_index: int,
    rng: np.random.Generator,
    out: ChunkOutput,
    occasions: tuple[np.ndarray, np.ndarray],
) -> None:
    """Loyalty members and in-store transactions: members' store purchase occasions (owner,
    epoch second) from the day they enrolled, and walk-in shoppers."""
    mess = config.messiness
    members = np.flatnonzero(people["has_loyalty"].to_numpy())
    m = len(members)
    profile = people["profile_idx"].to_numpy()
    first_seen = people["first_seen"].to_numpy()[members]
    end_at = people["end_at"].to_numpy()[members]
    enrolled = first_seen + ((end_at - first_seen) * rng.random(m) * 0.5).astype(np.int64)
    loyalty_ids = chunk_ids("L", chunk_index, rng.permutation(m))

    member_of = np.full(len(people), -1, dtype=np.int64)
    member_of[members] = np.arange(m)
    store_owner, store_time = occasions
    member_pos = member_of[store_owner]
    as_member = (member_pos >= 0) & (store_time >= enrolled[np.maximum(member_pos, 0)])
    member_pos, member_times = member_pos[as_member], store_time[as_member]
    walk_in = int(len(people) * 0.6)
    walk_times = rng.integers(config.history_start_epoch, config.as_of_epoch, walk_in)
    n_tx = len(member_pos) + walk_in
    tx_times = np.concatenate([member_times, walk_times])
    shown_card = np.concatenate([rng.random(len(member_pos)) < 0.9, np.zeros(walk_in, bool)])
    tx_member = np.concatenate([member_pos, np.full(walk_in, -1)])
    # Walk-ins (member -1) index a padding slot, so a chunk without members still works.
    member_slot = np.where(tx_member >= 0, tx_member, m)
    tx_loyalty = np.where(shown_card, np.append(loyalty_ids, "")[member_slot], "")
    tx_person = np.append(members, -1)[member_slot]
    person_country = np.where(
        tx_person >= 0,
        people["country"].to_numpy()[np.maximum(tx_person, 0)],
        np.array(ref.COUNTRIES, dtype=object)[rng.integers(0, 6, n_tx)],
    )
    stores = np.array([s for s, _ in ref.STORES], dtype=object)
    store_country = np.array([c for _, c in ref.STORES], dtype=object)
    store = np.empty(n_tx, dtype=object)
    for c in ref.COUNTRIES:
        mask = person_country == c
        options = stores[store_country == c]
        store[mask] = options[rng.integers(0, len(options), int(mask.sum()))]
    currency = np.array([ref.COUNTRY_CURRENCY[c] for c in person_country.tolist()], dtype=object)
    fx = np.array([ref.FX_FROM_GBP[c] for c in currency.tolist()])
    tx_ids = time_ranked_ids("T", chunk_index, tx_times)
    is_return = rng.random(n_tx) < 0.04

    lines = 1 + rng.poisson(1.2, n_tx)
    line_tx = np.repeat(np.arange(n_tx), lines)
    line_number = np.arange(len(line_tx)) - np.repeat(np.cumsum(lines) - lines, lines)
    owner_for_pref = np.maximum(tx_person[line_tx], 0)
    product = pick_products(
        rng,
        catalog,
        people["pref_category_1"].to_numpy()[owner_for_pref],
        people["pref_category_2"].to_numpy()[owner_for_pref],
    )
    quantity = (1 + rng.poisson(0.2, len(line_tx))) * np.where(is_return[line_tx], -1, 1)
    unit_price = np.round(catalog.price_gbp[product] * fx[line_tx], 2)
    line_profile = np.where(tx_person[line_tx] >= 0, profile[owner_for_pref], 2)
    discounted = (rng.random(len(line_tx)) < DISCOUNT_PROPENSITY[line_profile]) & ~is_return[
        line_tx
    ]
    discount = np.where(
        discounted, np.round(unit_price * quantity * rng.uniform(0.1, 0.3, len(line_tx)), 2), 0
    )
    out.tables["pos_transactions"] = pa.table(
        {
            "transaction_id": tx_ids[line_tx],
            "line_number": pa.array(line_number + 1).cast(pa.string()),
            "store_id": store[line_tx],
            "loyalty_id": nullable(tx_loyalty[line_tx]),
            "transacted_at": format_timestamps(tx_times[line_tx]),
            "product_id": catalog.product_id[product],
            "quantity": pa.array(quantity).cast(pa.string()),
            "unit_price": money(unit_price),
            "discount": money(discount),
            "currency": currency[line_tx],
        }
    )
    out.stats["pos.return_transactions"] += int(is_return.sum())
    out.stats["pos.transactions"] += n_tx
    out.stats["pos.member_transactions_without_card"] += int((~shown_card[: len(member_pos)]).sum())

    # Points: roughly one per unit of currency spent with the card shown.
    spend = np.where(shown_card[line_tx] & (tx_member[line_tx] >= 0), unit_price * quantity, 0)
    points = np.bincount(
        np.maximum(tx_member[line_tx], 0), weights=np.maximum(spend, 0), minlength=m
    )[:m].astype(np.int64)
    tier = np.where(points >= 1500, "gold", np.where(points >= 400, "silver", "bronze"))
    given, family = messy_names(
        rng,
        people["given_name"].to_numpy()[members],
        people["family_name"].to_numpy()[members],
        config,
        out.stats,
        "loyalty",
    )
    emails = messy_emails(rng, people, members, config, out.stats, "loyalty", 0.15)
    phones = messy_phones(rng, people, members, out.stats, "loyalty", 0.2)
    _, _, postcode, _ = address_at(people, members, enrolled)
    postcode = messy_postcodes(rng, postcode, 0.15)
    birth = np.where(mx.pick_mask(rng, m, 0.25), "", people["birth_date"].to_numpy()[members])
    out.tables["pos_loyalty_members"] = pa.table(
        {
            "loyalty_id": loyalty_ids,
            "first_name": nullable(given),
            "last_name": nullable(family),
            "email": nullable(emails),
            "phone": nullable(phones),
            "postcode": nullable(postcode),
            "birth_date": nullable(birth),
            "tier": tier.astype(object),
            "points": pa.array(points).cast(pa.string()),
            "enrolled_at": format_timestamps(enrolled, rng, mess.offset_timestamp_rate),
        }
    )
    out.truth.append(truth_frame("loyalty", loyalty_ids, people["person_id"].to_numpy()[members]))


def build_support(
    people: pd.DataFrame,
    config: GeneratorConfig,
    chunk_index: int,
    rng: np.random.Generator,
    out: ChunkOutput,
) -> None:
    """Support tickets, identified only by the e-mail the customer wrote from: everyday
    questions, and the complaints of a bad experience (within days of it, rated 1-2)."""
    profile = people["profile_idx"].to_numpy()
    starts = people["first_seen"].to_numpy()
    ends = people["end_at"].to_numpy()
    owners, opened = bh.activity_times(rng, people, TICKET_RATE[profile], starts, ends, "ticket")
    upset_at = people["upset_at"].to_numpy()
    upset = np.flatnonzero(upset_at < ends)
    complaints = 1 + rng.poisson(0.5, len(upset))
    c_owner = np.repeat(upset, complaints)
    c_opened = upset_at[c_owner] + rng.integers(0, 3 * SECONDS_PER_DAY, len(c_owner))
    is_complaint = np.r_[np.zeros(len(owners), bool), np.ones(len(c_owner), bool)]
    owners = np.concatenate([owners, c_owner])
    opened = np.minimum(np.concatenate([opened, c_opened]), ends[owners])
    n = len(owners)
    ticket_ids = time_ranked_ids("TK", chunk_index, opened)
    emails = messy_emails(rng, people, owners, config, out.stats, "support", 0.0, 0.5)
    closed = opened + (rng.lognormal(3.0, 1.2, n) * 3600).astype(np.int64)
    still_open = closed > config.as_of_epoch
    while_upset = opened >= upset_at[owners]
    score = np.where(
        is_complaint,
        rng.integers(1, 3, n),
        np.where(
            while_upset,
            rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15]),
            rng.choice([1, 2, 3, 4, 5], size=n, p=[0.04, 0.08, 0.18, 0.35, 0.35]),
        ),
    ).astype(str)
    unrated = rng.random(n) < np.where(is_complaint, 0.15, 0.35)
    score = np.where(still_open | unrated, "", score)
    out.tables["support_tickets"] = pa.table(
        {
            "ticket_id": ticket_ids,
            "customer_email": nullable(emails),
            "channel": np.array(ref.SUPPORT_CHANNELS, dtype=object)[rng.integers(0, 4, n)],
            "topic": np.array(ref.SUPPORT_TOPICS, dtype=object)[rng.integers(0, 6, n)],
            "opened_at": format_timestamps(opened, rng, config.messiness.offset_timestamp_rate),
            "closed_at": pc.if_else(
                pa.array(still_open), pa.scalar(None, pa.string()), format_timestamps(closed)
            ),
            "satisfaction_score": nullable(score.astype(object)),
        }
    )
    out.truth.append(truth_frame("support", ticket_ids, people["person_id"].to_numpy()[owners]))


def build_consent(
    people: pd.DataFrame,
    config: GeneratorConfig,
    chunk_index: int,
    rng: np.random.Generator,
    out: ChunkOutput,
) -> None:
    """Consent grants by e-mail or phone; some later withdrawn."""
    n = len(people)
    starts = people["first_seen"].to_numpy()
    ends = people["end_at"].to_numpy()
    rows_owner, rows_type, rows_purpose, rows_time, rows_status = [], [], [], [], []
    for p_idx, (purpose, grant_rate, withdraw_rate) in enumerate(
        [("email_marketing", 0.55, 0.18), ("personalization", 0.4, 0.1), ("analytics", 0.5, 0.1)]
    ):
        granted = np.flatnonzero(rng.random(n) < grant_rate)
        by_phone = rng.random(len(granted)) < (0.0 if p_idx == 0 else 0.2)
        g_time = np.minimum(
            starts[granted] + rng.integers(0, 30 * SECONDS_PER_DAY, len(granted)), ends[granted]
        )
        rows_owner.append(granted)
        rows_type.append(np.where(by_phone, "phone", "email"))
        rows_purpose.append(np.full(len(granted), purpose))
        rows_time.append(g_time)
        rows_status.append(np.full(len(granted), "granted"))
        withdrawn = rng.random(len(granted)) < withdraw_rate
        w_time = g_time + ((ends[granted] - g_time) * rng.uniform(0.2, 1.0, len(granted))).astype(
            np.int64
        )
        rows_owner.append(granted[withdrawn])
        rows_type.append(np.where(by_phone, "phone", "email")[withdrawn])
        rows_purpose.append(np.full(int(withdrawn.sum()), purpose))
        rows_time.append(w_time[withdrawn])
        rows_status.append(np.full(int(withdrawn.sum()), "withdrawn"))
        out.stats[f"consent.{purpose}_granted"] += len(granted)
        out.stats[f"consent.{purpose}_withdrawn"] += int(withdrawn.sum())
    owners = np.concatenate(rows_owner)
    id_type = np.concatenate(rows_type).astype(object)
    times = np.concatenate(rows_time)
    emails = messy_emails(rng, people, owners, config, out.stats, "consent", 0.0, 0.2)
    phones = messy_phones(rng, people, owners, out.stats, "consent", 0.0)
    identifier = np.where(id_type == "email", emails, phones)
    source = np.array(ref.CONSENT_SOURCES, dtype=object)[rng.integers(0, 4, len(owners))]
    source = np.where(id_type == "phone", "pos", source)
    out.tables["consent_events"] = pa.table(
        {
            "consent_event_id": time_ranked_ids("K", chunk_index, times),
            "identifier": nullable(identifier),
            "identifier_type": id_type,
            "purpose": np.concatenate(rows_purpose).astype(object),
            "status": np.concatenate(rows_status).astype(object),
            "occurred_at": format_timestamps(times),
            "source": source,
        }
    )


def build_web(
    people: pd.DataFrame,
    orders: pd.DataFrame,
    catalog: Catalog,
    config: GeneratorConfig,
    chunk_index: int,
    rng: np.random.Generator,
    out: ChunkOutput,
) -> None:
    """Web events: anonymous device sessions, logins that tie a device to an account,
    purchase sessions for online orders (a guest checkout happens in a browser too, and its
    purchase event carries the order id as real trackers do), abandoned carts, and e-mail
    engagement."""
    mess = config.messiness
    n_people = len(people)
    has_web = people["has_web"].to_numpy()
    profile = people["profile_idx"].to_numpy()
    user_id = people["user_id"].to_numpy()
    has_account = people["has_account"].to_numpy()
    person_ids = people["person_id"].to_numpy()

    # Devices: 1-3 per web person; some households share a device between two accounts.
    web_people = np.flatnonzero(has_web)
    n_devices = rng.choice([1, 2, 3], size=len(web_people), p=[0.55, 0.35, 0.10])
    dev_owner = np.repeat(web_people, n_devices)
    dev_type_code = rng.choice(3, size=len(dev_owner), p=ref.DEVICE_WEIGHTS)
    raw_ids = rng.integers(0, 2**62, size=(len(dev_owner), 2), dtype=np.int64)
    anon_ids = np.array([f"a{a:016x}{b:015x}"[:33] for a, b in raw_ids.tolist()], dtype=object)
    head = people["household_head"].to_numpy()
    # A second account holder in the household borrows the head's first device.
    borrower = (
        has_account
        & (head != np.arange(n_people))
        & has_account[head]
        & has_web[head]
        & (rng.random(n_people) < mess.shared_device_rate)
    )
    borrowers = np.flatnonzero(borrower & has_web)
    shared_dev = np.searchsorted(dev_owner, head[borrowers])  # head's first device
    out.stats["web.shared_devices"] += len(borrowers)

    # Device table per person (own devices plus borrowed one) for session assignment.
    all_dev_owner = np.concatenate([dev_owner, borrowers])
    all_dev_index = np.concatenate([np.arange(len(dev_owner)), shared_dev])
    borrowed = np.concatenate([np.zeros(len(dev_owner), bool), np.ones(len(borrowers), bool)])
    order = np.argsort(all_dev_owner, kind="stable")
    all_dev_owner, all_dev_index, borrowed = (
        all_dev_owner[order],
        all_dev_index[order],
        borrowed[order],
    )
    dev_count = np.bincount(all_dev_owner, minlength=n_people)
    dev_start = np.cumsum(dev_count) - dev_count

    # Browsing sessions.
    starts = np.maximum(people["first_seen"].to_numpy(), config.web_start_epoch)
    ends = people["end_at"].to_numpy() - 3 * 3600
    engagement = people["engagement"].to_numpy()
    session_rate = np.where(has_web, SESSION_RATE[profile] * engagement, 0.0)
    s_owner, s_start = bh.activity_times(rng, people, session_rate, starts, ends, "session")
    # most online orders are researched first: a browsing visit in the weeks before
    researched = orders[
        (rng.random(len(orders)) < RESEARCH_SHARE) & has_web[orders["owner"].to_numpy()]
    ]
    r_start = researched["ordered_at"].to_numpy() - rng.integers(
        SECONDS_PER_DAY, 21 * SECONDS_PER_DAY, len(researched)
    )
    r_keep = r_start >= config.web_start_epoch
    s_owner = np.concatenate([s_owner, researched["owner"].to_numpy()[r_keep]])
    s_start = np.concatenate([s_start, r_start[r_keep]])
    abandon = rng.random(len(s_owner)) < ABANDON_PROPENSITY[profile[s_owner]]
    s_type = np.where(abandon, 1, 0)  # 0 browse, 1 abandoned cart, 2 purchase

    # Purchase sessions: online orders of web users placed during the web history.
    web_orders = orders[
        (orders["ordered_at"].to_numpy() >= config.web_start_epoch)
        & has_web[orders["owner"].to_numpy()]
    ]
    s_owner = np.concatenate([s_owner, web_orders["owner"].to_numpy()])
    s_start = np.concatenate([s_start, web_orders["ordered_at"].to_numpy()])
    s_type = np.concatenate([s_type, np.full(len(web_orders), 2)])
    s_value = np.concatenate([np.zeros(len(abandon)), web_orders["value"].to_numpy()])
    s_order = np.concatenate([np.full(len(abandon), -1), np.arange(len(web_orders))])
    s_order_logged_in = np.concatenate(
        [np.zeros(len(abandon), bool), web_orders["logged_in"].to_numpy()]
    )
    n_s = len(s_owner)

    pick = dev_start[s_owner] + (rng.random(n_s) * dev_count[s_owner]).astype(np.int64)
    s_device = all_dev_index[pick]
    s_borrowed = borrowed[pick]
    # Logged-in sessions start with `login`; borrowers always log in on the shared device;
    # a purchase session is logged in exactly when its order was placed from the account.
    s_login = np.where(
        s_type == 2,
        s_order_logged_in,
        has_account[s_owner] & ((rng.random(n_s) < 0.45) | s_borrowed),
    )
    s_channel = rng.choice(len(ref.WEB_CHANNELS), size=n_s, p=ref.WEB_CHANNEL_WEIGHTS)
    s_campaign = rng.integers(0, len(ref.UTM_CAMPAIGNS), n_s)
    utm_source = np.array([ref.UTM_SOURCE_BY_CHANNEL[c] for c in ref.WEB_CHANNELS], dtype=object)
    has_utm = np.array([u is not None for u in utm_source], dtype=bool)
    s_focus = pick_products(
        rng,
        catalog,
        people["pref_category_1"].to_numpy()[s_owner],
        people["pref_category_2"].to_numpy()[s_owner],
    )
    if len(web_orders):
        s_focus[s_type == 2] = web_orders["product"].to_numpy()

    base_len = np.where(s_type == 0, 1 + rng.poisson(1.5, n_s), 0)
    base_len = np.where(s_type == 1, 2 + rng.poisson(1.5, n_s), base_len)
    base_len = np.where(s_type == 2, 3 + rng.poisson(1.0, n_s), base_len)
    total_len = base_len + s_login
    e_session = np.repeat(np.arange(n_s), total_len)
    pos = np.arange(len(e_session)) - np.repeat(np.cumsum(total_len) - total_len, total_len)
    pos_in_body = pos - s_login[e_session]
    from_end = total_len[e_session] - 1 - pos
    e_type = s_type[e_session]
    n_e = len(e_session)

    names = np.array(
        [
            "page_view", "product_view", "search", "add_to_cart", "remove_from_cart",
            "checkout_start", "purchase", "email_open", "email_click", "login",
        ],
        dtype=object,
    )  # fmt: skip
    r = rng.random(n_e)
    body = np.where(r < 0.35, 0, np.where(r < 0.85, 1, 2))
    body = np.where(pos_in_body == 0, np.where(e_type == 0, 0, 1), body)
    removed = rng.random(n_s) < 0.2
    event = body
    event = np.where((e_type == 1) & (from_end == 0), 3, event)
    event = np.where((e_type == 1) & removed[e_session] & (from_end == 0), 4, event)
    event = np.where((e_type == 1) & removed[e_session] & (from_end == 1), 3, event)
    event = np.where((e_type == 2) & (from_end == 2), 3, event)
    event = np.where((e_type == 2) & (from_end == 1), 5, event)
    event = np.where((e_type == 2) & (from_end == 0), 6, event)
    event = np.where(pos_in_body < 0, 9, event)

    dwell = np.round(rng.lognormal(3.2, 0.9, n_e)).astype(np.int64) + 1
    session_total = np.bincount(e_session, weights=dwell, minlength=n_s).astype(np.int64)
    before_session = np.repeat(np.cumsum(session_total) - session_total, total_len)
    within = np.cumsum(dwell) - dwell - before_session
    # Purchase sessions end at the order time; others start at their sampled time.
    anchor = np.where(s_type == 2, s_start - session_total, s_start)
    e_time = anchor[e_session] + within

    product_events = np.isin(event, [1, 3, 4, 5, 6])
    same_product = rng.random(n_e) < 0.6  # repeated views of the session's focus product
    other = pick_products(
        rng,
        catalog,
        people["pref_category_1"].to_numpy()[s_owner[e_session]],
        people["pref_category_2"].to_numpy()[s_owner[e_session]],
    )
    e_product = np.where(same_product | (event >= 3), s_focus[e_session], other)
    price = np.round(catalog.price_gbp[e_product], 2)
    quantity = np.where(np.isin(event, [3, 4]), 1 + rng.poisson(0.2, n_e), 0)
    cart_value = np.where(
        event == 6, np.round(s_value[e_session], 2), np.round(price * np.maximum(quantity, 1), 2)
    )
    # What a shopper types to find a product: its noun, lower-cased.
    query = np.array([nm.split(" ")[-2].lower() for nm in catalog.name.tolist()], dtype=object)

    # E-mail engagement: account holders open newsletters (no device, no session).
    open_rate = np.where(has_account, EMAIL_OPEN_RATE[profile] * engagement, 0.0)
    o_owner, o_time = bh.activity_times(rng, people, open_rate, starts, ends, "email_open")
    clicked = rng.random(len(o_owner)) < 0.25
    m_owner = np.concatenate([o_owner, o_owner[clicked]])
    m_time = np.concatenate([o_time, o_time[clicked] + rng.integers(30, 3600, int(clicked.sum()))])
    m_event = np.concatenate([np.full(len(o_owner), 7), np.full(int(clicked.sum()), 8)])
    m_campaign = rng.integers(0, len(ref.UTM_CAMPAIGNS), len(m_owner))
    # An open happens in a mail client; a click lands on the site in one of the reader's own
    # browsers, and the link's tracking token names the account (how CDPs identify it).
    first_own = np.searchsorted(dev_owner, m_owner)
    own_count = np.searchsorted(dev_owner, m_owner, side="right") - first_own
    m_device = np.where(
        (m_event == 8) & (own_count > 0),
        first_own + (rng.random(len(m_owner)) * own_count).astype(np.int64),
        -1,
    )

    n_m = len(m_owner)
    no_code = np.full(n_m, -1, dtype=np.int64)
    event_time = np.concatenate([e_time, m_time])
    order = np.argsort(event_time, kind="stable")

    def codes(session_part: np.ndarray, mail_part: np.ndarray) -> np.ndarray:
        return np.concatenate([session_part, mail_part])[order]

    def masked(values: np.ndarray, valid: np.ndarray) -> pa.Array:
        return pa.array(values[order], mask=~valid[order])

    n_all = n_e + n_m
    utm_sources = np.array(["google", "newsletter", "instagram"], dtype=object)
    utm_code_by_channel = np.array(
        [-1 if u is None else int(np.flatnonzero(utm_sources == u)[0]) for u in utm_source]
    )
    email_channel = ref.WEB_CHANNELS.index("email")
    session_ids = pc.binary_join_element_wise(
        f"S{chunk_index:04d}",
        pc.utf8_lpad(pa.array(np.arange(n_s)).cast(pa.string()), 8, "0"),
        "",
    )
    session_has_utm = has_utm[s_channel]

    def in_session(valid: np.ndarray) -> np.ndarray:
        return np.concatenate([valid, np.zeros(n_m, bool)])  # e-mail events carry no properties

    table = pa.table(
        {
            "event_id": pc.binary_join_element_wise(
                f"E{chunk_index:04d}",
                pc.utf8_lpad(pa.array(np.arange(n_all)).cast(pa.string()), 9, "0"),
                "",
            ),
            "event_name": dictionary_array(codes(event, m_event), names),
            "anonymous_id": dictionary_array(codes(s_device[e_session], m_device), anon_ids),
            "user_id": dictionary_array(
                codes(np.where(s_login[e_session], s_owner[e_session], -1), m_owner), user_id
            ),
            "session_id": dictionary_array(codes(e_session, no_code), session_ids),
            "device": dictionary_array(
                codes(
                    dev_type_code[s_device[e_session]],
                    np.where(m_device >= 0, dev_type_code[np.maximum(m_device, 0)], -1),
                ),
                np.array(ref.DEVICES),
            ),
            "channel": dictionary_array(
                codes(s_channel[e_session], np.full(n_m, email_channel)),
                np.array(ref.WEB_CHANNELS),
            ),
            "utm_source": dictionary_array(
                codes(utm_code_by_channel[s_channel[e_session]], np.full(n_m, 1)), utm_sources
            ),
            "utm_campaign": dictionary_array(
                codes(np.where(session_has_utm, s_campaign, -1)[e_session], m_campaign),
                np.array(ref.UTM_CAMPAIGNS),
            ),
            "occurred_at_epoch": pa.array(event_time[order]),
            "product_id": dictionary_array(
                codes(np.where(product_events, e_product, -1), no_code), catalog.product_id
            ),
            "category": dictionary_array(
                codes(np.where(product_events, catalog.category_idx[e_product], -1), no_code),
                np.array(list(ref.CATEGORIES)),
            ),
            "price": masked(np.concatenate([price, np.zeros(n_m)]), in_session(product_events)),
            "quantity": masked(
                np.concatenate([quantity, np.zeros(n_m, np.int64)]),
                in_session(np.isin(event, [3, 4])),
            ),
            "scroll_depth": masked(
                np.round(rng.uniform(0.05, 1.0, n_all), 2), in_session(event == 0)
            ),
            "dwell_seconds": masked(
                np.concatenate([dwell, np.zeros(n_m, np.int64)]), in_session(np.isin(event, [0, 1]))
            ),
            "query": dictionary_array(codes(np.where(event == 2, e_product, -1), no_code), query),
            "cart_value": masked(
                np.concatenate([cart_value, np.zeros(n_m)]), in_session(np.isin(event, [3, 6]))
            ),
            "order_id": dictionary_array(
                codes(np.where(event == 6, s_order[e_session], -1), no_code),
                web_orders["order_id"].to_numpy(),
            ),
        }
    )
    out.tables["web_events"] = table
    out.stats["web.events"] += table.num_rows
    out.stats["web.sessions"] += n_s
    out.stats["web.login_sessions"] += int(s_login.sum())
    out.stats["web.abandoned_cart_sessions"] += int((s_type == 1).sum())
    out.stats["web.purchase_sessions"] += int((s_type == 2).sum())

    # Truth lists the web ids that occur in some source (events or orders).
    seen_users = np.zeros(n_people, bool)
    seen_users[s_owner[s_login]] = True
    seen_users[m_owner] = True
    seen_users[orders["owner"].to_numpy()[orders["logged_in"].to_numpy()]] = True
    accounts = np.flatnonzero(seen_users & has_account)
    out.truth.append(truth_frame("web_user", user_id[accounts], person_ids[accounts]))
    # A shared device belongs to the person who owns it (the household head here).
    used = np.unique(np.concatenate([s_device, m_device[m_device >= 0]]))
    out.truth.append(truth_frame("web_anonymous", anon_ids[used], person_ids[dev_owner[used]]))
