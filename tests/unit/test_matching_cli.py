"""The resolve CLI on a user's own CSV: outputs, quality report and clear errors."""

import json
from pathlib import Path

import pandas as pd

from python_models.identity.resolve_cli import main

ROWS = [
    ("1", "Anna", "Kowalski", "anna.k@post.test", "1990-04-02", "p1"),
    ("2", "ANNA", "Kowalsky", "Anna.K@Post.Test ", "02/04/1990", "p1"),
    ("3", "Tom", "Baker", "tom.baker@example.net", "1975-11-30", "p2"),
    ("4", "Thomas", "Baker", "tom.baker@example.net", "30/11/1975", "p2"),
    ("5", "Grace", "Hopper", "grace@post.test", "1968-12-09", "p3"),
    ("6", "Alan", "Turing", "alan@post.test", "1954-06-23", "p4"),
]


def _write_inputs(tmp_path: Path, mapping_text: str) -> tuple[Path, Path]:
    people = tmp_path / "people.csv"
    pd.DataFrame(ROWS, columns=["id", "first", "last", "email", "dob", "person_id"]).to_csv(
        people, index=False
    )
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(mapping_text)
    return people, mapping


MAPPING_YML = """
record_id: id
given_name: first
family_name: last
email: email
birth_date: dob
"""


def test_cli_writes_clusters_links_and_quality(tmp_path: Path, capsys):
    people, mapping = _write_inputs(tmp_path, MAPPING_YML)
    out = tmp_path / "out"
    code = main(["--input", str(people), "--mapping", str(mapping), "--out", str(out),
                 "--truth-column", "person_id"])  # fmt: skip
    assert code == 0
    clusters = pd.read_csv(out / "clusters.csv", dtype=str).set_index("record_id")["cluster_id"]
    assert clusters["1"] == clusters["2"]
    assert clusters["3"] == clusters["4"]
    assert clusters["5"] != clusters["6"]
    links = pd.read_csv(out / "links.csv")
    assert {"left_id", "right_id", "match_weight", "evidence", "decision"} <= set(links.columns)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pairwise"]["f1"] == 1.0
    assert '"pairwise"' in capsys.readouterr().out


def test_cli_names_an_unknown_mapping_key_and_a_missing_column(tmp_path: Path, capsys):
    people, mapping = _write_inputs(tmp_path, MAPPING_YML + "nickname: first\n")
    assert main(["--input", str(people), "--mapping", str(mapping), "--out", str(tmp_path)]) == 2
    assert "nickname" in capsys.readouterr().err

    people, mapping = _write_inputs(tmp_path, MAPPING_YML.replace("dob", "date_of_birth"))
    assert main(["--input", str(people), "--mapping", str(mapping), "--out", str(tmp_path)]) == 2
    assert "date_of_birth" in capsys.readouterr().err
