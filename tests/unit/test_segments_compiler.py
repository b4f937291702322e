"""Rule-segment definitions: validation errors an analyst would see, and the compiled models."""

import textwrap
from pathlib import Path

import pytest

from orchestration.cli.segments import read_generated_files
from orchestration.settings import DBT_PROJECT_DIR
from python_models.segments import (
    SegmentDefinitionError,
    compile_segments,
    generated_files_are_stale,
    load_segment_definitions,
)
from python_models.segments.compiler import RULES_DIR, UNION_MODEL_PATH, segment_model_name

S1_MODEL_PATH = f"{RULES_DIR}/{segment_model_name('s1')}.sql"
S2_MODEL_PATH = f"{RULES_DIR}/{segment_model_name('s2')}.sql"

SHIPPED_DEFINITIONS = DBT_PROJECT_DIR / "segments" / "segments.yml"


def definitions_yaml(*rules: str) -> str:
    """A segments.yml with one segment per rule body (YAML under `rule:`), named s1, s2, ..."""
    entries = []
    for index, rule in enumerate(rules, start=1):
        body = textwrap.indent(textwrap.dedent(rule).strip(), "      ")
        entries.append(
            f"  - name: s{index}\n    description: test segment\n    owner: tests\n"
            f"    rule:\n{body}\n"
        )
    return "version: 1\nsegments:\n" + "".join(entries)


def problems_of(text: str) -> list[str]:
    with pytest.raises(SegmentDefinitionError) as raised:
        load_segment_definitions(text)
    return raised.value.problems


def test_shipped_definitions_are_valid_and_include_the_examples():
    definitions = load_segment_definitions(SHIPPED_DEFINITIONS.read_text(encoding="utf-8"))
    names = {definition.name for definition in definitions}
    assert {
        "high_purchase_intent",
        "high_engagement",
        "engaged_product_viewer",
        "new_customers",
        "vips",
    } <= names


def test_committed_generated_files_are_up_to_date():
    definitions = load_segment_definitions(SHIPPED_DEFINITIONS.read_text(encoding="utf-8"))
    stale = generated_files_are_stale(
        compile_segments(definitions), read_generated_files(DBT_PROJECT_DIR)
    )
    assert stale == [], (
        "segments.yml changed but the generated models were not recompiled; run "
        "`customer360 segments compile` and commit the result"
    )


def test_unknown_trait_names_segment_field_and_value():
    [problem] = problems_of(definitions_yaml("{trait: shoe_size, op: '>', value: 42}"))
    assert "segment 's1'" in problem
    assert "rule.trait" in problem
    assert "'shoe_size'" in problem
    assert "known traits" in problem


def test_operator_that_does_not_fit_the_trait_type_is_rejected():
    [problem] = problems_of(definitions_yaml("{trait: country, op: '>', value: GB}"))
    assert "rule.op" in problem and "'>'" in problem and "string trait 'country'" in problem


def test_bad_window_is_rejected_with_the_value_and_the_expected_form():
    [problem] = problems_of(
        definitions_yaml("{behaviour: sessions, window: 24x, op: '>', value: 5}")
    )
    assert "segment 's1': rule.window" in problem
    assert "'24x'" in problem and "24h or 7d" in problem


def test_duplicate_segment_names_are_rejected():
    text = definitions_yaml("{trait: country, op: '=', value: GB}")
    text += (
        "  - name: s1\n    description: again\n    owner: tests\n"
        "    rule: {trait: age, op: '>', value: 1}\n"
    )
    [problem] = problems_of(text)
    assert "duplicate segment name 's1'" in problem
    assert "segments[0] and segments[1]" in problem


def test_every_problem_in_the_file_is_reported_at_once_with_its_path():
    problems = problems_of(
        definitions_yaml(
            """
            all:
              - {trait: country, op: in, value: []}
              - not: {behaviour: event_count, event: teleport, window: 7d, op: '>', value: 1}
            """,
            "{behaviour: spend, window: 0d, op: between, value: [100, 10]}",
        )
    )
    assert any("s1': rule.all[0].value" in problem for problem in problems)
    assert any("s1': rule.all[1].not.event: 'teleport'" in problem for problem in problems)
    assert any("s2': rule.window: '0d'" in problem for problem in problems)
    assert any("s2': rule.value: 'between' needs low <= high" in problem for problem in problems)


def test_bad_segment_names_and_missing_fields_are_reported():
    text = (
        "segments:\n  - name: High Value\n    owner: x\n    rule: {trait: age, op: '>', value: 1}\n"
    )
    problems = problems_of(text)
    assert any("'High Value'" in problem and ": name:" in problem for problem in problems)
    assert any(
        ": description:" in problem and "required" in problem.lower() for problem in problems
    )


def test_missing_window_and_unknown_behaviour_are_reported():
    problems = problems_of(
        definitions_yaml(
            "{behaviour: sessions, op: '>', value: 5}",
            "{behaviour: vibes, window: 7d, op: '>', value: 1}",
        )
    )
    assert any("s1': rule.window: missing" in problem for problem in problems)
    assert any("s2': rule.behaviour: unknown behaviour 'vibes'" in problem for problem in problems)


def test_invalid_yaml_is_reported_as_a_definition_error():
    problems = problems_of("segments: [\n")
    assert "not valid YAML" in problems[0]


def test_compiled_model_carries_header_windows_and_escaped_values():
    [definition] = load_segment_definitions(
        definitions_yaml(
            """
            all:
              - {trait: rfm_segment, op: in, value: ["Can't Lose Them", At Risk]}
              - any:
                  - {behaviour: event_count, event: add_to_cart, window: 48h, op: '>=', value: 2}
                  - not: {trait: consent_email_marketing, op: '=', value: true}
            """
        )
    )
    sql = compile_segments([definition])[S1_MODEL_PATH]
    assert sql.startswith("-- generated from segments.yml — do not edit")
    assert "'Can''t Lose Them'" in sql
    assert "segments_window_start(48, 'hour')" in sql
    assert "event_name = 'add_to_cart'" in sql
    assert "not coalesce(traits.consent_email_marketing = true, false)" in sql
    assert " or " in sql and " and " in sql


def test_behaviours_used_twice_are_aggregated_once():
    [definition] = load_segment_definitions(
        definitions_yaml(
            """
            any:
              - {behaviour: sessions, window: 7d, op: '>', value: 5}
              - {behaviour: sessions, window: 7d, op: '<', value: 1}
            """
        )
    )
    sql = compile_segments([definition])[S1_MODEL_PATH]
    assert sql.count("sessions_7d as (") == 1


def test_compile_writes_models_and_removes_those_of_deleted_segments(tmp_path: Path, run_cli):
    def main(args: list[str]) -> int:
        return run_cli("segments", *args).exit_code

    project = tmp_path / "dbt_project"
    definitions = project / "segments" / "segments.yml"
    definitions.parent.mkdir(parents=True)
    definitions.write_text(
        definitions_yaml("{trait: age, op: '>=', value: 18}", "{trait: age, op: '<', value: 18}")
    )
    hand_written = project / RULES_DIR / "_rules__unit_tests.yml"
    hand_written.parent.mkdir(parents=True)
    hand_written.write_text("version: 2\n")

    assert main(["compile", "--dbt-project-dir", str(project)]) == 0
    assert (project / S2_MODEL_PATH).exists()
    assert main(["compile", "--check", "--dbt-project-dir", str(project)]) == 0

    definitions.write_text(definitions_yaml("{trait: age, op: '>=', value: 18}"))
    assert main(["compile", "--check", "--dbt-project-dir", str(project)]) == 1
    assert main(["compile", "--dbt-project-dir", str(project)]) == 0
    assert not (project / S2_MODEL_PATH).exists()
    assert hand_written.exists(), "files without the generated mark are never touched"
    union = (project / UNION_MODEL_PATH).read_text()
    assert "ref('int_segment_s1_members')" in union and "int_segment_s2" not in union


def test_invalid_definitions_fail_compile_before_writing_anything(tmp_path: Path, run_cli):
    project = tmp_path / "dbt_project"
    definitions = project / "segments" / "segments.yml"
    definitions.parent.mkdir(parents=True)
    definitions.write_text(
        definitions_yaml("{behaviour: sessions, window: 24x, op: '>', value: 5}")
    )
    result = run_cli("segments", "compile", "--dbt-project-dir", project)
    assert result.exit_code == 2
    assert "segment 's1': rule.window: '24x'" in result.stderr
    assert not (project / "models").exists()
