"""The guides in docs/guides/ are followed once by a test, so their examples keep working."""

import re
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR
from python_models.segments import compile_segments, load_segment_definitions
from python_models.segments.compiler import RULES_DIR, UNION_MODEL_PATH, segment_model_name

GUIDES = Path(__file__).resolve().parents[2] / "docs" / "guides"


def yaml_blocks(guide: str) -> list[str]:
    return re.findall(r"```yaml\n(.+?)```", (GUIDES / guide).read_text(), re.S)


def test_the_segment_guide_example_compiles_into_a_member_model_and_the_union():
    (example,) = yaml_blocks("adding-a-segment.md")
    shipped = (DBT_PROJECT_DIR / "segments" / "segments.yml").read_text()

    definitions = load_segment_definitions(shipped.rstrip() + "\n\n" + example)
    files = compile_segments(definitions)

    model = files[f"{RULES_DIR}/{segment_model_name('big_basket_emailable')}.sql"]
    assert "'big_basket_emailable' as segment" in model
    assert "consent_email_marketing" in model
    assert ">= 150" in model
    assert segment_model_name("big_basket_emailable") in files[UNION_MODEL_PATH]


def test_the_source_guide_example_loads_quarantines_and_generates_its_dbt_source(
    tmp_path: Path, monkeypatch
):
    import duckdb

    from python_models.contract import rules as contract_rules
    from python_models.contract import spec, tables
    from python_models.contract.dbt_sources import render_source_yml
    from python_models.extract import load_landing_dir
    from python_models.quality.quarantine import quarantine_load
    from python_models.quality.rules import REGISTRY

    (example,) = re.findall(
        r"```python\n(.+?)```", (GUIDES / "adding-a-source.md").read_text(), re.S
    )
    names = {**vars(contract_rules), "RawTable": spec.RawTable, "C": spec.Column}
    reviews = eval(example, names)  # the guide's declaration, as written
    monkeypatch.setitem(tables.CONTRACT, reviews.table, reviews)
    monkeypatch.setitem(REGISTRY, reviews.table, reviews)
    monkeypatch.setattr(tables, "SOURCE_SYSTEMS", (*tables.SOURCE_SYSTEMS, "reviews"))
    landing = tmp_path / "landing"
    (landing / "reviews").mkdir(parents=True)
    (landing / "reviews" / "product_reviews_2026-11-01.csv").write_text(
        "review_id,customer_email,product_id,rating,reviewed_at\n"
        "r1,ann@example.com,SKU-1,5,2026-10-31T10:00:00Z\n"
        "r2,bo@example.com,SKU-2,9,2026-10-31T11:00:00Z\n"
    )
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))

    report = load_landing_dir(con, landing, "reviews", quarantine=quarantine_load, tables=[reviews])

    assert [f.status for f in report.files] == ["loaded"]
    assert con.execute("select count(*) from raw.reviews_product_reviews").fetchone()[0] == 2
    held = con.execute(
        "select review_id, failed_rules from quarantine.reviews_product_reviews"
    ).fetchall()
    assert held == [("r2", ["rating_range"])]
    yml = render_source_yml("reviews")
    assert "reviews_product_reviews" in yml and "pii: true" in yml


def test_the_audience_guide_example_validates_and_exports_its_members(tmp_path: Path):
    import csv

    import duckdb

    from python_models.activation.audiences import known_segment_names, load_audiences
    from python_models.activation.export import ExportRequest, export_audience
    from tests.support.activation import AS_OF, Person, build_marts

    (example,) = yaml_blocks("adding-an-audience.md")
    shipped = (DBT_PROJECT_DIR / "audiences" / "audiences.yml").read_text()
    audiences = load_audiences(
        shipped.rstrip() + "\n\n" + example, known_segments=known_segment_names(DBT_PROJECT_DIR)
    )
    added = audiences[-1]
    assert added.name == "champions_thank_you" and len(audiences) >= 2

    con = duckdb.connect()
    build_marts(
        con,
        [
            Person("c1", "ann@example.com", segments=("champions",)),
            Person("c2", "bo@example.com", segments=("champions",), personalisation=False),
            Person("c3", "cy@example.com", segments=("at_risk",)),
        ],
        recommendations=[("c1", 1, "p3"), ("c1", 2, "p1"), ("c2", 1, "p2")],
    )
    result = export_audience(con, ExportRequest(added, "guide-1", AS_OF, tmp_path))

    with (result.folder / "champions_thank_you.csv").open(newline="", encoding="utf-8") as f:
        rows = {r["Email Address"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"ann@example.com", "bo@example.com"}
    assert [rows["ann@example.com"][f"Product {i}"] for i in (1, 2, 3)] == [
        "Wool socks",
        "Walking boots",
        "",
    ]
    assert rows["bo@example.com"]["Product 1"] == ""  # no personalisation consent
    assert rows["ann@example.com"]["Tags"] == "thank-you"
    assert result.manifest["counts"]["added"] == 2
    assert con.execute("select count(*) from exports.export_champions_thank_you").fetchone() == (2,)
