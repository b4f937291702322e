"""The web shop's OLTP database in PostgreSQL, seeded from the generator's landing files.

The schema is what a web shop keeps: `products`, `customers` (shop accounts), `orders` (with
the checkout's contact and shipping details, a status that moves placed -> completed ->
returned, `created_at`/`updated_at` kept by a trigger, and a `deleted_at` for soft deletes)
and `order_lines`. Seeding reads the same landing files the file extract reads (the committed
sample or a generated set), so the people and the ground truth are the same; rows a real
database could never hold (an unparseable timestamp, a line without its order) are skipped
and counted. `apply_change_day` applies one day of shop activity: new orders, status changes,
soft deletes and hard deletes of test orders, so incremental extraction can be shown.

Everything here is tooling for the demo, tests and benchmark; the extract never imports it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from python_models.warehouse import connect

SCHEMA = "shop"

DDL = f"""
create schema if not exists {SCHEMA};

create or replace function {SCHEMA}.touch_updated_at() returns trigger language plpgsql as $$
begin
    -- an application that forgets updated_at must not hide its change from the extract
    if new.updated_at is not distinct from old.updated_at then
        new.updated_at := now();
    end if;
    return new;
end $$;

create table if not exists {SCHEMA}.products (
    id text primary key,
    name text not null,
    category text,
    tags text,
    price numeric(12, 2),
    currency char(3) not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table if not exists {SCHEMA}.customers (
    id text primary key,
    email text,
    first_name text,
    last_name text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table if not exists {SCHEMA}.orders (
    id text primary key,
    customer_id text references {SCHEMA}.customers (id),
    crm_id text,
    email text,
    first_name text,
    last_name text,
    phone text,
    ship_street text,
    ship_city text,
    ship_postcode text,
    ship_country text,
    ordered_at timestamptz not null,
    status text not null check (status in ('placed', 'completed', 'cancelled', 'returned')),
    currency char(3) not null,
    shipping_amount numeric(12, 2) not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    deleted_at timestamptz
);
create index if not exists orders_updated_at_id on {SCHEMA}.orders (updated_at, id);

create table if not exists {SCHEMA}.order_lines (
    order_id text not null references {SCHEMA}.orders (id) on delete cascade,
    line_number integer not null,
    product_id text not null,
    quantity integer not null,
    unit_price numeric(12, 2) not null,
    discount numeric(12, 2) not null default 0,
    updated_at timestamptz not null default now(),
    primary key (order_id, line_number)
);
create index if not exists order_lines_updated_at on {SCHEMA}.order_lines (
    updated_at, order_id, line_number
);

create index if not exists products_updated_at_id on {SCHEMA}.products (updated_at, id);
create index if not exists customers_updated_at_id on {SCHEMA}.customers (updated_at, id);

drop trigger if exists products_touch on {SCHEMA}.products;
create trigger products_touch before update on {SCHEMA}.products
    for each row execute function {SCHEMA}.touch_updated_at();
drop trigger if exists customers_touch on {SCHEMA}.customers;
create trigger customers_touch before update on {SCHEMA}.customers
    for each row execute function {SCHEMA}.touch_updated_at();
drop trigger if exists orders_touch on {SCHEMA}.orders;
create trigger orders_touch before update on {SCHEMA}.orders
    for each row execute function {SCHEMA}.touch_updated_at();
drop trigger if exists order_lines_touch on {SCHEMA}.order_lines;
create trigger order_lines_touch before update on {SCHEMA}.order_lines
    for each row execute function {SCHEMA}.touch_updated_at();
"""

# DuckDB SELECTs that turn the landing files into rows the typed tables accept. A row a real
# database could not hold is dropped here (and counted by `seed_shop`).
_CLEAN_ORDERS = """
with typed as (
    select
        nullif(trim(order_id), '') as id,
        nullif(trim(user_id), '') as customer_id,
        nullif(trim(crm_id), '') as crm_id,
        nullif(trim(customer_email), '') as email,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        nullif(trim(phone), '') as phone,
        nullif(trim(ship_street), '') as ship_street,
        nullif(trim(ship_city), '') as ship_city,
        nullif(trim(ship_postcode), '') as ship_postcode,
        nullif(trim(ship_country), '') as ship_country,
        try_cast(ordered_at as timestamptz) as ordered_at,
        lower(trim(status)) as status,
        upper(trim(currency)) as currency,
        coalesce(try_cast(shipping_amount as decimal(12, 2)), 0) as shipping_amount
    from read_csv({files}, all_varchar = true, header = true, union_by_name = true,
                  ignore_errors = true)
)
select * exclude (rn) from (
    select *, row_number() over (partition by id order by ordered_at) as rn from typed
    where id is not null and ordered_at is not null and length(currency) = 3
      and status in ('placed', 'completed', 'cancelled', 'returned')
      and shipping_amount >= 0
) where rn = 1
"""
_CLEAN_LINES = """
with typed as (
    select
        nullif(trim(order_id), '') as order_id,
        try_cast(line_number as integer) as line_number,
        nullif(trim(product_id), '') as product_id,
        try_cast(quantity as integer) as quantity,
        try_cast(unit_price as decimal(12, 2)) as unit_price,
        coalesce(try_cast(discount as decimal(12, 2)), 0) as discount
    from read_csv({files}, all_varchar = true, header = true, union_by_name = true,
                  ignore_errors = true)
)
select * exclude (rn) from (
    select *, row_number() over (partition by order_id, line_number) as rn from typed
    where order_id in (select id from orders) and line_number is not null
      and product_id is not null and quantity is not null and unit_price is not null
) where rn = 1
"""


@dataclass(frozen=True)
class SeedReport:
    """Rows written to each shop table, and landing rows a typed database could not hold."""

    customers: int
    orders: int
    order_lines: int
    products: int
    orders_skipped: int
    order_lines_skipped: int

    def describe(self) -> str:
        return (
            f"seeded {self.orders} orders, {self.order_lines} order lines, "
            f"{self.customers} customers, {self.products} products "
            f"(skipped {self.orders_skipped} orders and {self.order_lines_skipped} lines "
            "that a typed database could not hold)"
        )


def create_schema(pg: psycopg.Connection) -> None:
    pg.execute(DDL)


def _files(landing_dir: Path, pattern: str) -> str:
    found = sorted(str(p) for p in landing_dir.glob(pattern))
    if not found:
        raise FileNotFoundError(f"no {pattern} under {landing_dir}: generate landing files first")
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in found) + "]"


def _copy_csv(pg: psycopg.Connection, table: str, columns: list[str], path: Path) -> None:
    with (
        pg.cursor() as cur,
        cur.copy(f"copy {SCHEMA}.{table} ({', '.join(columns)}) from stdin (format csv)") as copy,
        path.open("rb") as handle,
    ):
        while chunk := handle.read(1 << 20):
            copy.write(chunk)


def seed_shop(database_url: str, landing_dir: Path, *, memory_limit: str = "2GB") -> SeedReport:
    """Replace the shop database's content with the landing files' orders, lines and products.

    Timestamps keep their instant; `created_at` = `updated_at` = `ordered_at` (never later
    than now), so the first extract's cursor walks the shop's history.
    """
    landing_dir = Path(landing_dir)
    orders_files = _files(landing_dir, "shop/orders_*.csv")
    lines_files = _files(landing_dir, "shop/order_lines_*.csv")
    products_glob = list(landing_dir.glob("catalog/products_*.csv"))
    duck = connect(":memory:", memory_limit=memory_limit)
    duck.execute("set timezone = 'UTC'")
    with tempfile.TemporaryDirectory(prefix="c360-shop-seed-") as tmp:
        work = Path(tmp)
        raw_orders = duck.execute(
            f"select count(*) from read_csv({orders_files}, all_varchar = true)"
        )
        orders_in = int(raw_orders.fetchone()[0])
        duck.execute(f"create table orders as {_CLEAN_ORDERS.format(files=orders_files)}")
        lines_in = int(
            duck.execute(
                f"select count(*) from read_csv({lines_files}, all_varchar = true)"
            ).fetchone()[0]
        )
        duck.execute(f"create table lines as {_CLEAN_LINES.format(files=lines_files)}")
        # shop accounts: one per user_id, named after its first order
        duck.execute(
            "create table customers as select customer_id as id, arg_min(email, ordered_at) "
            "as email, arg_min(first_name, ordered_at) as first_name, "
            "arg_min(last_name, ordered_at) as last_name, min(ordered_at) as created_at "
            "from orders where customer_id is not null group by customer_id"
        )
        if products_glob:
            products_files = _files(landing_dir, "catalog/products_*.csv")
            duck.execute(
                "create table products as select distinct on (id) trim(product_id) as id, "
                "coalesce(nullif(trim(name), ''), trim(product_id)) as name, category, tags, "
                "try_cast(price as decimal(12, 2)) as price, "
                "coalesce(nullif(upper(trim(currency)), ''), 'EUR')[1:3] as currency "
                f"from read_csv({products_files}, all_varchar = true, ignore_errors = true) "
                "where nullif(trim(product_id), '') is not null"
            )
        else:
            duck.execute(
                "create table products as select distinct product_id as id, product_id as name, "
                "null as category, null as tags, null::decimal(12, 2) as price, 'EUR' as currency "
                "from lines"
            )
        # a future-dated order (bad data) was not written in the future: its row was touched
        # at seeding time at the latest, or the extract's cursor would jump past real changes
        touched = "strftime(least(ordered_at, current_timestamp), '%Y-%m-%d %H:%M:%S.%f+00')"
        exports = {
            "products": (
                "select id, name, category, tags, price, currency from products",
                ["id", "name", "category", "tags", "price", "currency"],
            ),
            "customers": (
                "select id, email, first_name, last_name, strftime(created_at, "
                "'%Y-%m-%d %H:%M:%S+00') as created_at, strftime(created_at, "
                "'%Y-%m-%d %H:%M:%S+00') as updated_at from customers",
                ["id", "email", "first_name", "last_name", "created_at", "updated_at"],
            ),
            "orders": (
                "select *, strftime(ordered_at, '%Y-%m-%d %H:%M:%S+00') as ts from orders",
                None,
            ),
            "order_lines": (
                f"select l.*, {touched.replace('ordered_at', 'o.ordered_at')} as updated_at "
                "from lines l join orders o on o.id = l.order_id",
                [
                    "order_id", "line_number", "product_id", "quantity", "unit_price",
                    "discount", "updated_at",
                ],
            ),
        }  # fmt: skip
        order_columns = [
            "id", "customer_id", "crm_id", "email", "first_name", "last_name", "phone",
            "ship_street", "ship_city", "ship_postcode", "ship_country", "ordered_at",
            "status", "currency", "shipping_amount",
        ]  # fmt: skip
        exports["orders"] = (
            "select "
            + ", ".join(
                "strftime(ordered_at, '%Y-%m-%d %H:%M:%S+00')" if c == "ordered_at" else c
                for c in order_columns
            )
            + f", {touched} as created_at, {touched} as updated_at from orders",
            [*order_columns, "created_at", "updated_at"],
        )
        with psycopg.connect(database_url) as pg:
            create_schema(pg)
            pg.execute(f"truncate {SCHEMA}.order_lines, {SCHEMA}.orders, {SCHEMA}.customers, "
                       f"{SCHEMA}.products")  # fmt: skip
            pg.execute("alter table shop.orders disable trigger orders_touch")
            for table in ("products", "customers", "orders", "order_lines"):
                query, columns = exports[table]
                path = work / f"{table}.csv"
                duck.execute(f"copy ({query}) to '{path}' (format csv, header false)")
                _copy_csv(pg, table, columns, path)
            pg.execute("alter table shop.orders enable trigger orders_touch")
            pg.execute("analyze")
            counts = {
                t: int(pg.execute(f"select count(*) from {SCHEMA}.{t}").fetchone()[0])
                for t in ("customers", "orders", "order_lines", "products")
            }
    duck.close()
    return SeedReport(
        customers=counts["customers"],
        orders=counts["orders"],
        order_lines=counts["order_lines"],
        products=counts["products"],
        orders_skipped=orders_in - counts["orders"],
        order_lines_skipped=lines_in - counts["order_lines"],
    )


@dataclass(frozen=True)
class ChangeDay:
    """How much one day of shop activity changes, as shares of the current orders."""

    day: int = 1
    new_orders_share: float = 0.004
    completed_share: float = 0.003
    returned_share: float = 0.002
    soft_deleted_share: float = 0.0005
    hard_deleted_share: float = 0.0005
    #: shares of the accounts that change their email, and of the products repriced
    customers_changed_share: float = 0.005
    products_repriced_share: float = 0.02


@dataclass(frozen=True)
class ChangeReport:
    new_orders: int
    new_lines: int
    completed: int
    returned: int
    soft_deleted: int
    hard_deleted: int
    customers_changed: int = 0
    products_repriced: int = 0

    @property
    def orders_changed(self) -> int:
        return self.new_orders + self.completed + self.returned + self.soft_deleted

    def describe(self) -> str:
        return (
            f"change day: {self.new_orders} new orders ({self.new_lines} lines), "
            f"{self.completed} placed -> completed, {self.returned} completed -> returned, "
            f"{self.soft_deleted} soft-deleted, {self.hard_deleted} hard-deleted test orders, "
            f"{self.customers_changed} accounts with a new email, "
            f"{self.products_repriced} products repriced"
        )


def _pick(share: float, where: str, day: int, salt: str) -> str:
    """The ids of a deterministic sample of live orders (same day, same pick)."""
    return (
        f"select id from {SCHEMA}.orders where deleted_at is null and {where} "
        f"order by md5(id || '{salt}{int(day)}') limit greatest(1, "
        f"(select (count(*) * {float(share)})::int from {SCHEMA}.orders))"
    )


def apply_change_day(database_url: str, change: ChangeDay | None = None) -> ChangeReport:
    """One day of shop activity in one transaction; `updated_at` is set by the trigger (now())."""
    change = change or ChangeDay()
    day = change.day
    placed = "status = 'placed' and created_at < now()"
    completed_orders = "status = 'completed'"
    not_returned = "status <> 'returned'"
    older = "created_at < now()"
    with psycopg.connect(database_url) as pg:
        new_orders = pg.execute(
            f"""
            insert into {SCHEMA}.orders (id, customer_id, crm_id, email, first_name, last_name,
                phone, ship_street, ship_city, ship_postcode, ship_country, ordered_at, status,
                currency, shipping_amount)
            select 'N' || lpad({day}::text, 4, '0') || '-' || id, customer_id, crm_id, email,
                first_name, last_name, phone, ship_street, ship_city, ship_postcode, ship_country,
                now(), 'placed', currency, shipping_amount
            from {SCHEMA}.orders where id in ({_pick(change.new_orders_share, "true", day, "new")})
            on conflict (id) do nothing
            returning id
            """
        ).rowcount
        new_lines = pg.execute(
            f"""
            insert into {SCHEMA}.order_lines (order_id, line_number, product_id, quantity,
                unit_price, discount, updated_at)
            select 'N' || lpad({day}::text, 4, '0') || '-' || l.order_id, l.line_number,
                l.product_id, l.quantity, l.unit_price, l.discount, now()
            from {SCHEMA}.order_lines l
            join {SCHEMA}.orders o on o.id = 'N' || lpad({day}::text, 4, '0') || '-' || l.order_id
            where o.created_at = now()
            on conflict do nothing
            """
        ).rowcount
        completed = pg.execute(
            f"update {SCHEMA}.orders set status = 'completed' where id in "
            f"({_pick(change.completed_share, placed, day, 'c')})"
        ).rowcount
        returned = pg.execute(
            f"update {SCHEMA}.orders set status = 'returned' where id in "
            f"({_pick(change.returned_share, completed_orders, day, 'r')})"
        ).rowcount
        soft_deleted = pg.execute(
            f"update {SCHEMA}.orders set deleted_at = now() where id in "
            f"({_pick(change.soft_deleted_share, not_returned, day, 's')})"
        ).rowcount
        hard_deleted = pg.execute(
            f"delete from {SCHEMA}.orders where id in "
            f"({_pick(change.hard_deleted_share, older, day, 'h')})"
        ).rowcount
        # accounts move to a new address at the same provider: same person, new email
        customers_changed = pg.execute(
            f"update {SCHEMA}.customers set email = 'new' || {day}::text || '.' || email "
            f"where email is not null and id in (select id from {SCHEMA}.customers "
            f"order by md5(id || 'e{day}') limit greatest(1, (select (count(*) * "
            f"{float(change.customers_changed_share)})::int from {SCHEMA}.customers)))"
        ).rowcount
        products_repriced = pg.execute(
            f"update {SCHEMA}.products set price = round(price * 1.05, 2) "
            f"where price is not null and id in (select id from {SCHEMA}.products "
            f"order by md5(id || 'p{day}') limit greatest(1, (select (count(*) * "
            f"{float(change.products_repriced_share)})::int from {SCHEMA}.products)))"
        ).rowcount
    return ChangeReport(
        new_orders, new_lines, completed, returned, soft_deleted, hard_deleted,
        customers_changed, products_repriced,
    )  # fmt: skip
