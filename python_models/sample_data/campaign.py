"""The world's answer to a campaign: orders placed after an audience export, with a known effect.

The sample's people stop at `as_of`; a holdout test needs what happens next. Given the
export a campaign sent (the addresses in its CSV: the treatment group, exactly what the
email tool received) and the people of the landing folder, this writes the orders of the
`window_days` after the export as new landing files:

- **organic** orders: every person with an address in the CRM file buys with probability
  `organic_rate` in the window, whether or not they were emailed (so control converts too);
- **campaign** orders: every exported address that did not buy organically buys with
  probability `response_rate`.

So the planted absolute uplift in window conversion is
`response_rate × (1 − organic_rate)`, written with the other figures to
`campaign_truth.json`; a holdout analysis of the campaign must find it inside its interval.
Orders are guest checkouts by email (the address of the export, or the CRM address), so
identity resolution links them like any other order. Output is deterministic per seed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from python_models.sample_data.writer import SOURCE_FILES
from python_models.warehouse import connect


@dataclass(frozen=True)
class CampaignConfig:
    exported_at: datetime  # when the export was sent (UTC)
    window_days: int = 14
    organic_rate: float = 0.05
    response_rate: float = 0.30
    order_value: float = 45.0  # GBP, one line per order
    seed: int = 7

    @property
    def planted_uplift(self) -> float:
        return self.response_rate * (1 - self.organic_rate)


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def simulate_campaign_orders(
    landing_dir: Path,
    export_csv: Path,
    out_dir: Path,
    config: CampaignConfig,
    memory_limit: str = "2GB",
) -> dict[str, object]:
    """Write `shop/orders_<date>_campaign.csv` and its lines under `out_dir`; return the truth."""
    orders_spec, lines_spec = SOURCE_FILES["shop_orders"], SOURCE_FILES["shop_order_lines"]
    end = config.exported_at + timedelta(days=config.window_days)
    stamp = end.strftime("%Y-%m-%d")
    shop = out_dir / orders_spec.folder
    shop.mkdir(parents=True, exist_ok=True)
    orders_path = shop / f"{orders_spec.stem}_{stamp}_campaign.{orders_spec.ext}"
    lines_path = shop / f"{lines_spec.stem}_{stamp}_campaign.{lines_spec.ext}"
    contacts = sorted((landing_dir / "crm").glob("contacts_*.csv"))
    if not contacts:
        raise FileNotFoundError(f"{landing_dir}/crm: no contacts_*.csv to draw customers from")
    con = connect(":memory:", memory_limit=memory_limit)
    # a draw in [0, 1) per address and purpose, from a hash: the same for every run
    draw = "(hash(lower(trim({col})) || '{salt}' || {seed}) % 1000000) / 1000000.0"
    window_seconds = config.window_days * 86_400
    start = config.exported_at.strftime("%Y-%m-%d %H:%M:%S")
    con.execute(f"""
        create table people as
        select distinct lower(trim(email)) as email
        from read_csv(
            [{", ".join(_quoted(p) for p in contacts)}], all_varchar = true, header = true,
            delim = ',', quote = '"', strict_mode = false, ignore_errors = true
        )
        where email like '%@%'
    """)
    con.execute(f"""
        create table exported as
        select distinct lower(trim("Email Address")) as email
        from read_csv({_quoted(export_csv)}, all_varchar = true)
    """)
    con.execute(f"""
        create table buyers as
        with everyone as (
            select email from people union select email from exported
        ),
        organic as (
            select email, 'organic' as kind from everyone
            where {draw.format(col="email", salt="organic", seed=config.seed)}
                < {config.organic_rate}
        ),
        campaign as (
            select email, 'campaign' as kind from exported
            where email not in (select email from organic)
                and {draw.format(col="email", salt="campaign", seed=config.seed)}
                    < {config.response_rate}
        )
        select *,
            timestamp '{start}' + to_seconds(cast(1 + ({
        draw.format(col="email", salt="when", seed=config.seed)
    }) * ({window_seconds} - 2) as bigint))
                as ordered_at,
            'OC' || lpad(cast(row_number() over (order by kind, email) as varchar), 9, '0')
                as order_id
        from (select * from organic union all select * from campaign)
    """)
    con.execute(f"""
        copy (
            select order_id, null as user_id, null as crm_id, email as customer_email,
                null as first_name, null as last_name, null as phone, null as ship_street,
                null as ship_city, null as ship_postcode, 'GB' as ship_country,
                strftime(ordered_at, '%Y-%m-%dT%H:%M:%SZ') as ordered_at,
                'completed' as status, 'GBP' as currency, '0.00' as shipping_amount
            from buyers order by order_id
        ) to {_quoted(orders_path)} (header)
    """)
    con.execute(f"""
        copy (
            select order_id, '1' as line_number, 'SKU-00001' as product_id, '1' as quantity,
                '{config.order_value:.2f}' as unit_price, '0.00' as discount
            from buyers order by order_id
        ) to {_quoted(lines_path)} (header)
    """)
    organic, campaign, exported = con.execute("""
        select count(*) filter (where kind = 'organic'), count(*) filter (where kind = 'campaign'),
            (select count(*) from exported)
        from buyers
    """).fetchone()
    truth = {
        **{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(config).items()},
        "planted_uplift": config.planted_uplift,
        "exported_addresses": exported,
        "organic_orders": organic,
        "campaign_orders": campaign,
        "files": [str(orders_path.relative_to(out_dir)), str(lines_path.relative_to(out_dir))],
    }
    (out_dir / "campaign_truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return truth
