"""audiences.yml: the shipped file is valid, and every mistake is named before anything runs."""

from pathlib import Path

import pytest

from orchestration.settings import AUDIENCES_FILE, DBT_PROJECT_DIR
from python_models.activation.audiences import (
    AudienceDefinitionError,
    known_segment_names,
    load_audience_file,
    load_audiences,
)

BAD = """
version: 1
audiences:
  - name: win_back
    description: d
    owner: crm
    segments: [win_back_email, Nonexistent Segment]
    destination: mailchimp
    fields: [first_name, shoe_size]
    tags: ["{long_tag}"]
  - name: vip
    description: d
    owner: crm
    segments: [vips]
    destination: hubspot
  - name: vip2
    description: d
    owner: crm
    segments: [vips]
    destination: braze
    holdout: {{experiment: t1, salt: s, control_share: 1.5, analysis_date: 2026-11-20}}
"""


def test_the_shipped_audiences_are_valid_and_use_three_destinations():
    audiences = load_audience_file(AUDIENCES_FILE, DBT_PROJECT_DIR)
    assert {a.destination for a in audiences} == {"mailchimp", "klaviyo", "braze"}
    assert any(a.holdout for a in audiences)


def test_every_problem_names_audience_field_and_value():
    known = known_segment_names(DBT_PROJECT_DIR)
    with pytest.raises(AudienceDefinitionError) as caught:
        load_audiences(BAD.format(long_tag="x" * 101), "audiences.yml", known)
    problems = caught.value.problems
    text = "\n".join(problems)
    assert "audience 'win_back': segments.1: unknown segment 'Nonexistent Segment'" in text
    assert "audience 'win_back': fields.1: unknown field 'shoe_size'" in text
    assert "audience 'win_back': tags.0: mailchimp tags are at most 100 characters" in text
    assert "audience 'vip': destination: Value error, unknown destination" in text
    assert "(got 'hubspot')" in text
    assert "audience 'vip2': holdout.control_share" in text and "(got 1.5)" in text
    assert len(problems) == 5


def test_definition_hash_changes_with_the_definition(tmp_path: Path):
    text = AUDIENCES_FILE.read_text()
    known = known_segment_names(DBT_PROJECT_DIR)
    first = {a.name: a.definition_hash() for a in load_audiences(text, known_segments=known)}
    changed = text.replace("control_share: 0.5", "control_share: 0.4")
    second = {a.name: a.definition_hash() for a in load_audiences(changed, known_segments=known)}
    assert first["win_back"] != second["win_back"] and first["vip"] == second["vip"]
