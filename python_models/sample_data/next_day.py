"""The next day's delivery of landing files, derived from a generated sample.

A real landing folder receives a delivery every day: new orders and clicks, contacts that
changed, people who signed up in one system though another already knows them, consent
withdrawn. This writes such a delivery for the day after a sample's `as_of`, from that
sample's own files, so a second run has something to move: segment entries and exits,
membership history, identity merges and export deltas.

The delivery can also carry a campaign's outcome, which plants a known effect for the
holdout analysis: given the list of addresses an audience export sent on the sample's day
(the treatment group, exactly what the email tool received), `response_rate` of the
recipients who do not buy organically that day (exactly, rounded; chosen by hash) buy
because of it. Organic buying (the repeat buyers above) happens whether or not someone was
mailed, so control converts too, and the planted absolute uplift in the day's conversion
is `response_rate × (1 − buyers)` among customers with an earlier order
(`Campaign.planted_uplift`).

Every choice is a deterministic function of the record ids (`hash(id || seed)`), so the
same sample and seed give the same files. Only new or changed rows are written, in files
named for the new day (`orders_2026-11-02.csv`), as a source system would send them.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class NextDayShares:
    """What share of the sample's people or records changes on the new day."""

    buyers: float = 0.05  # people with a past order who order again
    browsing_sessions: float = 0.04  # past web sessions repeated on the new day
    changed_contacts: float = 0.02  # CRM contacts whose phone or city changes
    new_crm_contacts: float = 0.05  # of the shop's emails the CRM does not know: new contacts
    withdrawn_consents: float = 0.02  # email-marketing grants withdrawn


# the columns an audience export keys its addresses by (Mailchimp, Klaviyo, Braze / a sent list)
SENT_LIST_EMAIL_COLUMNS = ("Email Address", "Email", "email")


@dataclass(frozen=True)
class Campaign:
    """A campaign mailed at the start of the covered day: its recipients may respond.

    `sent_list` is the CSV the email tool received (an audience export, or any CSV with one
    of `SENT_LIST_EMAIL_COLUMNS`); its addresses are the treatment group.
    """

    sent_list: Path
    response_rate: float = 0.30  # share of recipients who would not have bought that day who do
    name: str = "campaign"

    def __post_init__(self) -> None:
        if not 0.0 <= self.response_rate <= 1.0:
            raise ValueError(f"response_rate must be within [0, 1] (got {self.response_rate})")

    def planted_uplift(self, organic_rate: float) -> float:
        """The absolute uplift in conversion the campaign plants, for people who would buy
        organically with probability `organic_rate`."""
        return self.response_rate * (1.0 - organic_rate)


@dataclass
class Delivery:
    """What a delivery wrote: rows per file, and the campaign's truth when it carried one."""

    rows: dict[str, int] = field(default_factory=dict)
    campaign: dict[str, object] | None = None


def campaign_sent_csv(path: Path) -> Path:
    """The CSV a campaign sent: `path` itself, or the full file of an export run's folder
    (`<audience>/<run_id>/`, by its manifest), or of the latest completed run of an
    audience's folder (`<audience>/`)."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such sent list or export folder")
    manifests = [path / "manifest.json"] if (path / "manifest.json").is_file() else []
    if not manifests:
        runs = [(json.loads(m.read_text()), m) for m in path.glob("*/manifest.json")]
        if not runs:
            raise FileNotFoundError(f"{path}: no completed export run (no */manifest.json)")
        manifests = [max(runs, key=lambda run: run[0]["generated_at"])[1]]
    manifest_path = manifests[0]
    files = [f["name"] for f in json.loads(manifest_path.read_text())["files"]]
    full = [name for name in files if name.endswith(".csv") and "_part" not in name]
    full = [name for name in full if name not in ("added.csv", "changed.csv", "removed.csv")]
    if len(full) != 1:
        raise ValueError(
            f"{manifest_path}: expected one full CSV, found {full or 'none'}; pass the CSV itself"
        )
    return manifest_path.parent / full[0]


def write_campaign_truth(
    con: duckdb.DuckDBPyConnection, campaign: Campaign, truth: dict[str, object], truth_dir: Path
) -> None:
    """`campaign.json` (what was planted) and `campaign_sent.csv` (the recipients, which
    regenerate the same delivery) under `truth_dir`, after `write_next_day_delivery`."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    sent_path = truth_dir / "campaign_sent.csv"
    con.execute(f"copy (select email from sent order by email) to '{sent_path}' (header)")
    document = {**truth, "sent_list": sent_path.name}
    (truth_dir / "campaign.json").write_text(json.dumps(document, indent=2) + "\n")


def _stable_pick(column: str, share: float, seed: int) -> str:
    """A SQL predicate true for a fixed `share` of rows, chosen by hashing `column`."""
    return f"(hash({column} || '#{seed}') % 10000) < {int(share * 10000)}"


def _copy_csv(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = con.execute(f"select count(*) from ({query})").fetchone()[0]
    con.execute(f"copy ({query}) to '{path}' (header, delimiter ',')")
    return rows


def write_next_day_delivery(
    con: duckdb.DuckDBPyConnection,
    sample_dir: Path,
    out_dir: Path,
    day: date,
    *,
    seed: int = 7,
    shares: NextDayShares | None = None,
    campaign: Campaign | None = None,
) -> Delivery:
    """Write the delivery dated `day` (the day after the sample's) into `out_dir`.

    As with the sample (dated 2026-11-01, "as of" its midnight), a delivery holds what
    happened the day before its date: the rows of `day` are timed on `day - 1`, and a run
    over it is "as of" `day` 00:00. With a `campaign`, its recipients' responses are among
    the day's orders (the campaign was sent at `day - 1` 00:00). Returns rows written per
    file and the campaign's truth. `out_dir` is replaced.
    """
    shares = shares or NextDayShares()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    stamp = day.isoformat()
    activity_day = (day - timedelta(days=1)).isoformat()
    day_start = f"timestamp '{activity_day} 00:00:00'"

    def latest(pattern: str) -> str:
        files = sorted(sample_dir.glob(pattern))
        if not files:
            raise FileNotFoundError(f"no {pattern} in {sample_dir}: generate the sample first")
        return str(files[-1])

    # The landing dialect; rows the sample made unreadable on purpose are skipped here.
    read = (
        "read_csv('{}', header = true, delim = ',', quote = '\"', escape = '\"', "
        "all_varchar = true, comment = '', ignore_errors = true)"
    )
    orders = read.format(latest("shop/orders_*.csv"))
    lines = read.format(latest("shop/order_lines_*.csv"))
    contacts = read.format(latest("crm/contacts_*.csv"))
    consent = read.format(latest("consent/consent_events_*.csv"))
    events = latest("web/events_*.ndjson.gz")
    written: dict[str, int] = {}

    # Repeat buyers: each picked person's latest order again, on the new day.
    con.execute(
        f"""
        create or replace temp table next_orders as
        with ranked as (
            select *, row_number() over (
                partition by lower(trim(customer_email)) order by ordered_at desc
            ) as recency
            from {orders}
            where customer_email is not null and status = 'completed'
        )
        select * exclude (recency, ordered_at),
            order_id as previous_order_id,
            strftime({day_start} + to_seconds(
                (hash(order_id || '#{seed}') % 86000)::bigint), '%Y-%m-%dT%H:%M:%SZ'
            ) as ordered_at
        from ranked
        where recency = 1 and {_stable_pick("customer_email", shares.buyers, seed)}
        """
    )
    order_columns = [c[0] for c in con.execute(f"describe select * from {orders}").fetchall()]
    line_columns = [c[0] for c in con.execute(f"describe select * from {lines}").fetchall()]
    truth = None
    if campaign is not None:
        truth = _plant_campaign(
            con, campaign, orders, lines, order_columns, line_columns, day, seed
        )
        truth["organic_rate"] = shares.buyers
        truth["planted_uplift"] = campaign.planted_uplift(shares.buyers)
    else:
        con.execute(
            "create or replace temp table campaign_orders as "
            "select *, false as is_guest from next_orders limit 0"
        )
        con.execute(
            f"create or replace temp table guest_lines as select {', '.join(line_columns)} "
            f"from {lines} limit 0"
        )
    new_id = f"'O{day:%Y%m%d}' || substr(previous_order_id, 2)"
    select_orders = ", ".join(
        new_id + " as order_id" if c == "order_id" else c for c in order_columns
    )
    written[f"shop/orders_{stamp}.csv"] = _copy_csv(
        con,
        f"select {select_orders} from next_orders union all "
        f"select {select_orders} from campaign_orders order by order_id",
        out_dir / "shop" / f"orders_{stamp}.csv",
    )
    written[f"shop/order_lines_{stamp}.csv"] = _copy_csv(
        con,
        f"""
        select 'O{day:%Y%m%d}' || substr(l.order_id, 2) as order_id,
            l.* exclude (order_id)
        from {lines} as l
        join (
            select previous_order_id from next_orders
            union all select previous_order_id from campaign_orders where not is_guest
        ) as o on o.previous_order_id = l.order_id
        union all
        select * from guest_lines
        order by 1, line_number::int
        """,
        out_dir / "shop" / f"order_lines_{stamp}.csv",
    )

    # Contacts who moved: another contact's address in the same country, updated that day.
    changed = f"""
        with moved as (
            select *,
                lead(street) over by_country as new_street,
                lead(city) over by_country as new_city,
                lead(postcode) over by_country as new_postcode
            from {contacts}
            window by_country as (partition by country order by crm_id)
        )
        select * exclude (new_street, new_city, new_postcode) replace (
            new_street as street, new_city as city, new_postcode as postcode,
            strftime({day_start} + interval 9 hour, '%Y-%m-%dT%H:%M:%SZ') as updated_at
        )
        from moved
        where new_city is not null and new_street is distinct from street
            and {_stable_pick("crm_id", shares.changed_contacts, seed)}
    """
    # Shoppers the CRM has never seen sign up there: new CRM records of known people,
    # which identity resolution merges into their existing customer.
    signups = f"""
        with shop_people as (
            select lower(trim(customer_email)) as key, any_value(customer_email) as email,
                any_value(first_name) as first_name, any_value(last_name) as last_name,
                any_value(phone) as phone, any_value(ship_street) as street,
                any_value(ship_city) as city, any_value(ship_postcode) as postcode,
                any_value(ship_country) as country
            from {orders}
            where customer_email is not null and first_name is not null
            group by 1
        )
        select 'C{day:%Y%m%d}' || lpad((row_number() over (order by key))::varchar, 4, '0')
                as crm_id,
            first_name, last_name, email, phone, street, city, postcode, country,
            null as birth_date,
            strftime({day_start} + interval 10 hour, '%Y-%m-%dT%H:%M:%SZ') as created_at,
            strftime({day_start} + interval 10 hour, '%Y-%m-%dT%H:%M:%SZ') as updated_at
        from shop_people
        where key not in (
            select lower(trim(email)) from {contacts} where email is not null
        )
        and {_stable_pick("key", shares.new_crm_contacts, seed)}
    """
    contact_columns = ", ".join(
        c[0] for c in con.execute(f"describe select * from {contacts}").fetchall()
    )
    written[f"crm/contacts_{stamp}.csv"] = _copy_csv(
        con,
        f"select {contact_columns} from ({changed}) union all "
        f"select {contact_columns} from ({signups}) order by crm_id",
        out_dir / "crm" / f"contacts_{stamp}.csv",
    )

    # Consent withdrawn: the latest email-marketing grant of some identifiers, revoked.
    written[f"consent/consent_events_{stamp}.csv"] = _copy_csv(
        con,
        f"""
        with latest as (
            select *, row_number() over (
                partition by identifier, purpose order by occurred_at desc
            ) as recency
            from {consent}
        )
        select 'K{day:%Y%m%d}' || substr(consent_event_id, 2) as consent_event_id,
            identifier, identifier_type, purpose, 'withdrawn' as status,
            strftime({day_start} + interval 12 hour, '%Y-%m-%dT%H:%M:%SZ') as occurred_at,
            'preference_centre' as source
        from latest
        where recency = 1 and status = 'granted' and purpose = 'email_marketing'
            and {_stable_pick("consent_event_id", shares.withdrawn_consents, seed)}
        order by 1
        """,
        out_dir / "consent" / f"consent_events_{stamp}.csv",
    )

    # Browsing: some past sessions happen again on the new day (new event and session ids).
    web_path = out_dir / "web" / f"events_{stamp}.ndjson.gz"
    web_path.parent.mkdir(parents=True, exist_ok=True)
    web_query = f"""
        with source as (
            select * from read_json('{events}', format = 'newline_delimited',
                                    columns = {{
                                        event_id: 'varchar', event_name: 'varchar',
                                        anonymous_id: 'varchar', user_id: 'varchar',
                                        session_id: 'varchar', device: 'varchar',
                                        channel: 'varchar', utm_source: 'varchar',
                                        utm_campaign: 'varchar', occurred_at: 'varchar',
                                        properties: 'json'
                                    }})
            where {_stable_pick("session_id", shares.browsing_sessions, seed)}
        )
        select 'E{day:%Y%m%d}' || substr(event_id, 2) as event_id,
            event_name, anonymous_id, user_id,
            'S{day:%Y%m%d}' || substr(session_id, 2) as session_id,
            device, channel, utm_source, utm_campaign,
            strftime(date '{activity_day}' + (occurred_at::timestamptz at time zone 'UTC')::time,
                     '%Y-%m-%dT%H:%M:%SZ') as occurred_at,
            properties
        from source
        where try_cast(occurred_at as timestamptz) is not null
        order by occurred_at, event_id
    """
    written[f"web/events_{stamp}.ndjson.gz"] = con.execute(
        f"select count(*) from ({web_query})"
    ).fetchone()[0]
    con.execute(f"copy ({web_query}) to '{web_path}' (format json, compression gzip)")
    return Delivery(rows=written, campaign=truth)


def _sent_addresses(con: duckdb.DuckDBPyConnection, sent_list: Path) -> None:
    """`sent(email)`: the campaign's recipients, trimmed and lower-cased, once each."""
    if not sent_list.is_file():
        raise FileNotFoundError(f"{sent_list}: no such sent list (an audience export's CSV)")
    source = f"read_csv('{sent_list}', header = true, all_varchar = true)"
    columns = [c[0] for c in con.execute(f"describe select * from {source}").fetchall()]
    column = next((c for c in SENT_LIST_EMAIL_COLUMNS if c in columns), None)
    if column is None:
        raise ValueError(
            f"{sent_list}: row 1 (header): no address column; expected one of "
            f"{', '.join(SENT_LIST_EMAIL_COLUMNS)} (got {', '.join(columns)})"
        )
    con.execute(f"""
        create or replace temp table sent as
        select distinct lower(trim("{column}")) as email
        from {source}
        where nullif(trim("{column}"), '') is not null
    """)


def _plant_campaign(
    con: duckdb.DuckDBPyConnection,
    campaign: Campaign,
    orders: str,
    lines: str,
    order_columns: list[str],
    line_columns: list[str],
    day: date,
    seed: int,
) -> dict[str, object]:
    """`campaign_orders` (rows shaped like `next_orders`) and `guest_lines`: the orders of
    recipients who respond. A recipient with an earlier shop order repeats their latest
    one; one without orders checks out as a guest with the shop's most ordered product."""
    _sent_addresses(con, campaign.sent_list)
    activity_day = (day - timedelta(days=1)).isoformat()
    # Exactly `response_rate` of the recipients who would not have bought (rounded), the
    # first by a hash of the address: the planted effect is not itself a random draw.
    con.execute(f"""
        create or replace temp table responders as
        with candidates as (
            select email,
                row_number() over (order by hash(email || '#respond#{seed}'), email) as draw,
                count(*) over () as eligible
            from sent
            where email not in (select lower(trim(customer_email)) from next_orders)
        )
        select email,
            -- strictly after the send at midnight, within the covered day
            timestamp '{activity_day} 00:00:00'
                + to_seconds((60 + hash(email || '#when#{seed}') % 86000)::bigint) as responded_at
        from candidates
        where draw <= round(eligible * {campaign.response_rate!r})
    """)
    con.execute(f"""
        create or replace temp table campaign_orders as
        with latest as (
            select *, row_number() over (
                partition by lower(trim(customer_email)) order by ordered_at desc, order_id
            ) as recency
            from {orders}
            where customer_email is not null and status = 'completed'
        )
        select latest.* exclude (recency, ordered_at),
            latest.order_id as previous_order_id,
            strftime(responders.responded_at, '%Y-%m-%dT%H:%M:%SZ') as ordered_at,
            false as is_guest
        from responders
        join latest on lower(trim(latest.customer_email)) = responders.email
            and latest.recency = 1
    """)
    # guest orders get ids of their own shape (O<day>C000001), never a copy's O<day><old id>
    guest_id = "'GC' || lpad(row_number() over (order by email)::varchar, 6, '0')"
    guest_values = {
        "order_id": "null",
        "customer_email": "email",
        "ordered_at": "strftime(responded_at, '%Y-%m-%dT%H:%M:%SZ')",
        "status": "'completed'",
        "currency": "'GBP'",
        "shipping_amount": "'0.00'",
    }
    guest_select = ", ".join(
        f"{guest_values.get(c, 'null::varchar')} as {c}" for c in order_columns
    )
    con.execute(f"""
        insert into campaign_orders by name
        select {guest_select}, {guest_id} as previous_order_id, true as is_guest
        from responders
        where email not in (select lower(trim(customer_email)) from campaign_orders)
    """)
    line_values = {
        "order_id": f"'O{day:%Y%m%d}' || substr(guests.previous_order_id, 2)",
        "line_number": "'1'",
        "product_id": "product.product_id",
        "quantity": "'1'",
        "unit_price": "product.unit_price",
        "discount": "'0.00'",
    }
    line_select = ", ".join(f"{line_values.get(c, 'null::varchar')} as {c}" for c in line_columns)
    con.execute(f"""
        create or replace temp table guest_lines as
        with product as (
            select product_id, arg_min(unit_price, order_id) as unit_price
            from {lines}
            group by product_id
            order by count(*) desc, product_id
            limit 1
        )
        select {line_select}
        from campaign_orders as guests, product
        where guests.is_guest
    """)
    sent, with_orders, organic, responded = con.execute(f"""
        select
            (select count(*) from sent),
            (select count(*) from sent where email in (
                select lower(trim(customer_email)) from {orders} where status = 'completed')),
            (select count(*) from sent where email in (
                select lower(trim(customer_email)) from next_orders)),
            (select count(*) from campaign_orders)
    """).fetchone()
    return {
        "campaign": campaign.name,
        "sent_list": campaign.sent_list.name,
        "sent_at": f"{activity_day}T00:00:00Z",
        "response_rate": campaign.response_rate,
        "recipients": int(sent),
        "recipients_with_earlier_order": int(with_orders),
        "recipients_buying_organically": int(organic),
        "campaign_orders": int(responded),
    }
