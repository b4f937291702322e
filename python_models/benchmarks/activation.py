"""Benchmark: export every example audience (files, deltas, manifest) at N customers.

    python -m python_models.benchmarks.activation --customers 1000000

Builds the marts an export reads (`dim_customers`, `segment_membership`,
`customer_consent`, `dim_products`, the suppression seed, churn scores and
recommendations) at N customers in a temporary DuckDB file with DuckDB SQL, then exports
the audiences of `dbt_project/audiences/audiences.yml` twice: a first run (all `added`)
and a second after 2 % of customers changed name, 1 % withdrew consent and 1 % left
their segments (real deltas). Prints wall time and peak RSS (this process, DuckDB
included) per run against the targets: 60 s and 2 GB for all audiences at 1M.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from python_models.activation.audiences import load_audience_file
from python_models.activation.export import ExportRequest, export_audience
from python_models.benchmarks.memory import PeakMemory, cpu_seconds
from python_models.warehouse import connect

PROJECT_ROOT = Path(__file__).resolve().parents[2]
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 2048.0

MARTS_SQL = """
create schema if not exists marts;
create schema if not exists reference;
create schema if not exists models;
create or replace table marts.dim_customers as
select
    'c_' || lpad(printf('%x', i), 12, '0') as customer_key,
    (['Ann', 'Bea', 'Chloé', 'Dara', '=HYPERLINK("x")', 'Eve'])[1 + i % 6] as given_name,
    (['Lee', 'Ng', 'Müller', 'Okafor', 'Smith'])[1 + i % 5] as family_name,
    'user' || i || '@example.com' as primary_email,
    '+4477009' || lpad(cast(i % 100000 as varchar), 5, '0') as phone,
    (['GB', 'FR', 'DE', 'US', 'IE'])[1 + i % 5] as country,
    (['Champions', 'At Risk', 'Loyal', 'Lost', 'Promising'])[1 + i % 5] as rfm_segment,
    (['bargain hunters', 'big spenders', 'new and curious'])[1 + i % 3] as cluster_label,
    timestamp '2026-11-01' - to_days(cast(i % 400 as integer)) as last_order_at
from range({customers}) as t(i);

create or replace table marts.segment_membership as
select customer_key, segment
from (
    select 'c_' || lpad(printf('%x', i), 12, '0') as customer_key, i from range({customers}) t(i)
) as c,
(values ('vips', 10, 0), ('win_back_email', 12, 1), ('at_risk', 10, 2),
        ('new_customers', 20, 3), ('high_purchase_intent', 50, 4)) as s(segment, every, offset_)
where (c.i + s.offset_) % s.every = 0;

create or replace table marts.customer_consent as
select customer_key, purpose,
    case when state_draw < 0.5 then 'granted' when state_draw < 0.6 then 'withdrawn'
        else 'no_consent' end as consent_state,
    state_draw < 0.5 as is_granted,
    case when state_draw < 0.5 and purpose = 'email_marketing' then primary_email end
        as granted_email
from (
    select customer_key, primary_email, purpose,
        ((hash(customer_key || purpose) % 1000) / 1000.0) as state_draw
    from marts.dim_customers,
        (values ('email_marketing'), ('personalization')) as p(purpose)
);

create or replace table reference.email_suppressions as
select 'user' || (i * 97) || '@example.com' as email,
    (['hard_bounce', 'complaint', 'unsubscribe'])[1 + i % 3] as reason,
    timestamp '2026-10-01' as suppressed_at, 'bench' as source
from range({customers} // 1000) as t(i);

create or replace table marts.dim_products as
select 'p' || i as product_id, 'Product number ' || i as product_name from range(500) t(i);

create or replace table models.customer_recommendations as
select customer_key, r as rank, 'p' || ((hash(customer_key) + r) % 500) as product_id
from marts.dim_customers, range(1, 4) as t(r);

create or replace table models.customer_churn_scores as
select customer_key, (['low', 'medium', 'high'])[1 + cast(hash(customer_key) % 3 as integer)]
    as risk_band
from marts.dim_customers;
"""

CHANGES_SQL = """
update marts.dim_customers set given_name = given_name || 'x'
where hash(customer_key || 'rename') % 50 = 0;
update marts.customer_consent set is_granted = false, consent_state = 'withdrawn',
    granted_email = null
where purpose = 'email_marketing' and hash(customer_key || 'withdraw') % 100 = 0;
delete from marts.segment_membership where hash(customer_key || 'leave') % 100 = 0;
"""


def run(customers: int, memory_limit: str, work: Path) -> dict[str, object]:
    audiences = load_audience_file(
        PROJECT_ROOT / "dbt_project" / "audiences" / "audiences.yml",
        PROJECT_ROOT / "dbt_project",
    )
    con = connect(work / "bench.duckdb", memory_limit=memory_limit)
    started = time.perf_counter()
    con.execute(MARTS_SQL.format(customers=customers))
    build_seconds = time.perf_counter() - started
    runs = []
    for run_number in (1, 2):
        if run_number == 2:
            con.execute(CHANGES_SQL)
        cpu_before = cpu_seconds()
        with PeakMemory(include_children=False) as peak:
            started = time.perf_counter()
            per_audience = {}
            for audience in audiences:
                result = export_audience(
                    con,
                    ExportRequest(audience, f"bench-{run_number}", AS_OF, work / "exports"),
                )
                per_audience[audience.name] = {
                    "seconds": round(result.seconds, 2),
                    **{
                        k: result.manifest["counts"][k]
                        for k in ("exported", "added", "changed", "removed")
                    },
                }
            seconds = time.perf_counter() - started
        runs.append(
            {
                "run": run_number,
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu_seconds() - cpu_before, 2),
                "peak_rss_mb": peak.peak_mb,
                "audiences": per_audience,
            }
        )
    con.close()
    return {
        "customers": customers,
        "memory_limit": memory_limit,
        "build_marts_seconds": round(build_seconds, 2),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit")
    parser.add_argument("--out", type=Path, help="keep the files here (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="c360-bench-activation-") as tmp:
        work = args.out or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        report = run(args.customers, args.memory_limit, work)
    print(f"activation benchmark: {args.customers:,} customers, DuckDB limit {args.memory_limit}")
    print(
        f"{'run':<6}{'seconds':>9}{'CPU s':>8}{'peak RSS MB':>13}"
        + "  exported / added / changed / removed"
    )
    for entry in report["runs"]:
        detail = "; ".join(
            f"{name} {a['exported']:,}/{a['added']:,}/{a['changed']:,}/{a['removed']:,}"
            for name, a in entry["audiences"].items()
        )
        print(
            f"{entry['run']:<6}{entry['seconds']:>9.1f}{entry['cpu_seconds']:>8.1f}"
            f"{entry['peak_rss_mb']:>13.0f}  {detail}"
        )
    worst = max(report["runs"], key=lambda r: r["seconds"])
    peak = max(r["peak_rss_mb"] for r in report["runs"])
    verdict = worst["seconds"] <= TARGET_SECONDS and peak <= TARGET_PEAK_MB
    print(
        f"target at 1M: <= {TARGET_SECONDS:.0f} s and <= {TARGET_PEAK_MB:.0f} MB per run: "
        f"{'met' if verdict else 'NOT met'} (slowest {worst['seconds']:.1f} s, peak {peak:.0f} MB)"
    )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
