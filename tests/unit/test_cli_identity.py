"""`customer360 identity resolve` as a new user meets it: outputs, the review pairs, composite
and id roles, link-only mode, and every wrong mapping answered with one clear line, no
traceback and no output folder."""

import json
from pathlib import Path

import pandas as pd
import pytest

from python_models.identity.mapping import EXAMPLE_MAPPING, parse_mapping

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ROWS = [
    ("1", "Anna", "Kowalski", "anna.k@post.test", "1990-04-02", "p1"),
    ("2", "ANNA", "Kowalsky", "Anna.K@Post.Test ", "02/04/1990", "p1"),
    ("3", "Tom", "Baker", "tom.baker@example.net", "1975-11-30", "p2"),
    ("4", "Thomas", "Baker", "tom.baker@example.net", "30/11/1975", "p2"),
    ("5", "Grace", "Hopper", "grace@post.test", "1968-12-09", "p3"),
    ("6", "Alan", "Turing", "alan@post.test", "1954-06-23", "p4"),
]
MAPPING_YML = """
record_id: id
given_name: first
family_name: last
email: email
birth_date: dob
"""


def _write_inputs(tmp_path: Path, mapping_text: str, rows=ROWS, columns=None) -> tuple[Path, Path]:
    people = tmp_path / "people.csv"
    columns = columns or ["id", "first", "last", "email", "dob", "person_id"]
    pd.DataFrame(rows, columns=columns).to_csv(people, index=False)
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(mapping_text)
    return people, mapping


def _resolve(run_cli, people: Path, mapping: Path, out: Path, *extra: str):
    return run_cli(
        "identity", "resolve", "--input", people, "--mapping", mapping, "--out", out, *extra
    )


def test_resolve_writes_clusters_links_review_and_quality(tmp_path: Path, run_cli):
    people, mapping = _write_inputs(tmp_path, MAPPING_YML)
    out = tmp_path / "out"
    result = _resolve(run_cli, people, mapping, out, "--truth-column", "person_id")
    assert result.exit_code == 0, result.output
    clusters = pd.read_csv(out / "clusters.csv", dtype=str).set_index("record_id")["cluster_id"]
    assert clusters["1"] == clusters["2"]
    assert clusters["3"] == clusters["4"]
    assert clusters["5"] != clusters["6"]
    links = pd.read_csv(out / "links.csv")
    assert {"left_id", "right_id", "match_weight", "evidence", "decision"} <= set(links.columns)
    review = pd.read_csv(out / "review.csv")
    assert {"left_id", "right_id", "left_first", "right_first"} <= set(review.columns)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pairwise"]["f1"] == 1.0
    assert summary["review_pairs"] == len(review) == (links["decision"] == "review").sum()
    assert summary["household_guard"]["on"] in (True, False)
    assert '"pairwise"' in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mapping.yml", "out", "people.csv"]


def test_review_pairs_are_written_side_by_side_and_counted(tmp_path: Path, run_cli):
    # a pair that agrees on name and birth date but not on email: queued, not linked (the
    # other two pairs agree on every field as well, ~10 bits more: they link)
    rows = [*ROWS, ("7", "Grace", "Hopper", "g.hopper@navy.test", "1968-12-09", "p3")]
    config = MAPPING_YML + "config:\n  auto_link_probability: 0.99999999\n"
    people, mapping = _write_inputs(tmp_path, config, rows)
    out = tmp_path / "out"
    result = _resolve(run_cli, people, mapping, out)
    assert result.exit_code == 0, result.output
    review = pd.read_csv(out / "review.csv", dtype=str)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["review_pairs"] == len(review) > 0
    row = review[(review["left_id"] == "5") & (review["right_id"] == "7")].iloc[0]
    assert (row["left_email"], row["right_email"]) == ("grace@post.test", "g.hopper@navy.test")


def test_composite_roles_join_their_columns(tmp_path: Path, run_cli):
    rows = [
        ("a1", "Mary", "Ann", "Smith", "12", "Mill Lane", "AB1 2CD"),
        ("a2", "Mary", "Ann", "Smith", "12", "Mill Lane", "AB1 2CD"),
        ("b1", "Mary", "Jo", "Smith", "14", "Mill Lane", "AB1 2CD"),
    ]
    columns = ["id", "first", "middle", "last", "number", "street", "postcode"]
    mapping_text = (
        "record_id: id\ngiven_name: [first, middle]\nfamily_name: last\n"
        "street: [number, street]\npostcode: postcode\n"
    )
    people, mapping = _write_inputs(tmp_path, mapping_text, rows, columns)
    out = tmp_path / "out"
    assert _resolve(run_cli, people, mapping, out).exit_code == 0
    links = pd.read_csv(out / "links.csv")
    pair = links[(links["left_id"] == "a1") & (links["right_id"] == "a2")].iloc[0]
    evidence = json.loads(pair["evidence"])
    assert evidence["given_name"]["level"] == "exact"
    assert evidence["address"]["level"] == "exact"
    other = links[(links["left_id"] == "a1") & (links["right_id"] == "b1")]
    assert other.empty or json.loads(other.iloc[0]["evidence"])["given_name"]["level"] != "exact"


def test_link_only_never_pairs_records_of_one_source(tmp_path: Path, run_cli):
    # two sources, each with its own internal duplicate: only cross-source pairs are made
    rows = [
        ("crm1", "crm", "Anna", "Kowalski", "anna.k@post.test", "1990-04-02"),
        ("crm2", "crm", "Anna", "Kowalski", "anna.k@post.test", "1990-04-02"),
        ("shop1", "shop", "Anna", "Kowalski", "anna.k@post.test", "1990-04-02"),
        ("shop2", "shop", "Tom", "Baker", "tom.baker@example.net", "1975-11-30"),
        ("shop3", "shop", "Tom", "Baker", "tom.baker@example.net", "1975-11-30"),
        ("crm3", "crm", "Grace", "Hopper", "grace@post.test", "1968-12-09"),
    ]
    columns = ["id", "system", "first", "last", "email", "dob"]
    mapping_text = MAPPING_YML + "source: system\nlink_type: link_only\n"
    people, mapping = _write_inputs(tmp_path, mapping_text, rows, columns)
    out = tmp_path / "out"
    result = _resolve(run_cli, people, mapping, out)
    assert result.exit_code == 0, result.output
    links = pd.read_csv(out / "links.csv", dtype=str)
    source = dict(zip([r[0] for r in rows], [r[1] for r in rows], strict=True))
    assert len(links) > 0
    assert all(
        source[a] != source[b] for a, b in zip(links["left_id"], links["right_id"], strict=True)
    )
    assert not ((links["left_id"] == "shop2") & (links["right_id"] == "shop3")).any()
    assert json.loads((out / "summary.json").read_text())["link_type"] == "link_only"


def test_link_only_without_a_source_role_is_refused(tmp_path: Path, run_cli):
    people, mapping = _write_inputs(tmp_path, MAPPING_YML + "link_type: link_only\n")
    result = _resolve(run_cli, people, mapping, tmp_path / "out")
    assert result.exit_code == 2
    assert "link_type link_only needs a source role" in result.stderr


MAPPING_ERRORS = [
    pytest.param(
        MAPPING_YML.replace("record_id: id", "record_id: [id, email]").replace(
            "email: email\n", ""
        ),
        "role 'record_id' takes one column, got a list ['id', 'email']; only city, "
        "family_name, given_name, street may join several columns",
        id="list-where-a-name-is-expected",
    ),
    pytest.param(
        MAPPING_YML + "person_ids: person_id\n",
        "role 'person_ids' takes a list of columns, got the single name 'person_id'; "
        "write person_ids: [person_id]",
        id="bare-name-where-a-list-is-expected",
    ),
    pytest.param(
        MAPPING_YML + "config:\n  auto_link_probability: '0.9'\n",
        "config 'auto_link_probability' needs a number, got the text '0.9'; "
        "write it without quotes",
        id="quoted-number",
    ),
    pytest.param(
        MAPPING_YML.replace("birth_date: dob", "birth_date: 1990"),
        "role 'birth_date' needs a column name, got the number 1990; if the column is "
        'really called 1990, quote it: birth_date: "1990"',
        id="number-where-a-column-is-expected",
    ),
    pytest.param(
        "record_id: id\ngiven_name: [first\n",
        "not valid YAML at line 3, column 1: expected ',' or ']', but got '<stream end>'",
        id="invalid-yaml",
    ),
    pytest.param(
        MAPPING_YML.replace("record_id: id\n", ""),
        "no record_id: name the column that identifies each record, e.g. `record_id: customer_id`",
        id="no-record-id",
    ),
    pytest.param(
        MAPPING_YML + "nickname: first\n",
        "unknown role(s) ['nickname']; roles are: record_id, source, given_name, "
        "family_name, email, phone, street, city, postcode, birth_date, country, "
        "person_ids, shared_ids, plus link_type and config",
        id="unknown-role",
    ),
    pytest.param(
        MAPPING_YML + "config:\n  auto_link: 0.9\n",
        "unknown config setting(s) ['auto_link']",
        id="unknown-config-setting",
    ),
    pytest.param(
        MAPPING_YML + "config:\n  auto_link_probability: 0.5\n",
        "config: need review_probability <= auto_link_probability, got 0.8 and 0.5",
        id="thresholds-out-of-order",
    ),
    pytest.param(
        MAPPING_YML + "phone: email\n",
        "column 'email' is mapped twice, to email and phone",
        id="column-in-two-roles",
    ),
]


@pytest.mark.parametrize(("mapping_text", "message"), MAPPING_ERRORS)
def test_every_wrong_mapping_gets_one_clear_line(tmp_path, run_cli, mapping_text, message):
    people, mapping = _write_inputs(tmp_path, mapping_text)
    out = tmp_path / "out"
    result = _resolve(run_cli, people, mapping, out)
    assert result.exit_code == 2
    stderr = " ".join(result.stderr.split())
    assert f"error: {mapping}: {message}" in stderr
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mapping.yml", "people.csv"]


def test_a_missing_input_file_and_a_missing_column_are_named(tmp_path: Path, run_cli):
    people, mapping = _write_inputs(tmp_path, MAPPING_YML)
    result = _resolve(run_cli, tmp_path / "nope.csv", mapping, tmp_path / "out")
    assert result.exit_code == 2
    assert f"error: input file {tmp_path / 'nope.csv'} not found" in " ".join(result.stderr.split())

    _, mapping = _write_inputs(tmp_path, MAPPING_YML.replace("dob", "date_of_birth"))
    result = _resolve(run_cli, people, mapping, tmp_path / "out")
    assert result.exit_code == 2
    stderr = " ".join(result.stderr.split())
    assert "has no column(s) birth_date -> 'date_of_birth'; its columns are" in stderr
    assert not (tmp_path / "out").exists()


def test_a_failed_run_leaves_a_previous_output_folder_as_it_was(tmp_path: Path, run_cli):
    people, mapping = _write_inputs(tmp_path, MAPPING_YML)
    out = tmp_path / "out"
    assert _resolve(run_cli, people, mapping, out).exit_code == 0
    before = (out / "clusters.csv").read_text()
    mapping.write_text(MAPPING_YML.replace("dob", "date_of_birth"))
    assert _resolve(run_cli, people, mapping, out).exit_code == 2
    assert (out / "clusters.csv").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mapping.yml", "out", "people.csv"]


def test_the_example_mapping_ships_parses_and_is_in_help(run_cli):
    shipped = (PROJECT_ROOT / "docs" / "examples" / "identity-mapping.yml").read_text()
    assert shipped == EXAMPLE_MAPPING
    mapping, config = parse_mapping(shipped, "example")
    assert mapping.street == ("street_number", "address_1")
    assert mapping.person_ids == ("soc_sec_id",) and mapping.shared_ids == ("household_account",)
    assert config.auto_link_probability == 0.95
    help_text = " ".join(run_cli("identity", "resolve", "--help").stdout.split())
    assert "person_ids: [soc_sec_id]" in help_text
    assert "street: [street_number, address_1]" in help_text
