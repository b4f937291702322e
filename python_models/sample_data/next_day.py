"""The next day's delivery of landing files, derived from a generated sample.

A real landing folder receives a delivery every day: new orders and clicks, contacts that
changed, people who signed up in one system though another already knows them, consent
withdrawn. This writes such a delivery for the day after a sample's `as_of`, from that
sample's own files, so a second run has something to move: segment entries and exits,
membership history, identity merges and export deltas.

Every choice is a deterministic function of the record ids (`hash(id || seed)`), so the
same sample and seed give the same files. Only new or changed rows are written, in files
named for the new day (`orders_2026-11-02.csv`), as a source system would send them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
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
) -> dict[str, int]:
    """Write the delivery dated `day` (the day after the sample's) into `out_dir`.

    As with the sample (dated 2026-11-01, "as of" its midnight), a delivery holds what
    happened the day before its date: the rows of `day` are timed on `day - 1`, and a run
    over it is "as of" `day` 00:00. Returns rows written per file. `out_dir` is replaced.
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
    new_id = f"'O{day:%Y%m%d}' || substr(previous_order_id, 2)"
    select_orders = ", ".join(
        new_id + " as order_id" if c == "order_id" else c for c in order_columns
    )
    written[f"shop/orders_{stamp}.csv"] = _copy_csv(
        con,
        f"select {select_orders} from next_orders order by order_id",
        out_dir / "shop" / f"orders_{stamp}.csv",
    )
    written[f"shop/order_lines_{stamp}.csv"] = _copy_csv(
        con,
        f"""
        select 'O{day:%Y%m%d}' || substr(l.order_id, 2) as order_id,
            l.* exclude (order_id)
        from {lines} as l
        join next_orders as o on o.previous_order_id = l.order_id
        order by 1, l.line_number::int
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
    return written
