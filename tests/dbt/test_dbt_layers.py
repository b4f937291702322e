"""dbt runs one way: staging -> intermediate -> marts, read from dbt's own manifest.

A staging model reads only sources and seeds; an intermediate model never reads a mart; the
tables Python assets write (`identity.*`, `models.*`, `exports.*`) are sources declared in
one file. `dbt parse` writes the manifest to a temporary folder (no warehouse is opened).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from dbt.cli.main import dbtRunner

ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = ROOT / "dbt_project"
PYTHON_SOURCES_FILE = "models/_python__sources.yml"
# The extract writes these; their sources sit beside the staging models that read them.
EXTRACT_SCHEMAS = {"raw", "quarantine"}
# What each layer may read, by the layer of the node it depends on.
ALLOWED_PARENTS = {
    "staging": {"source", "seed"},
    "intermediate": {"source", "seed", "staging", "intermediate"},
    "marts": {"source", "seed", "staging", "intermediate", "marts"},
}


def node_layer(node: dict) -> str:
    """`source`, `seed`, or the model's folder under models/ (staging, intermediate, marts)."""
    if node["resource_type"] in {"source", "seed"}:
        return node["resource_type"]
    parts = Path(node["original_file_path"]).parts
    return parts[1] if len(parts) > 2 and parts[0] == "models" else "other"


def layer_violations(manifest: dict) -> list[str]:
    """Every model that reads a layer its own layer may not read, as one line each."""
    nodes = {**manifest["nodes"], **manifest["sources"]}
    violations = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        layer = node_layer(node)
        allowed = ALLOWED_PARENTS.get(layer)
        if allowed is None:
            violations.append(f"{node['original_file_path']}: not under staging/intermediate/marts")
            continue
        for parent_id in node["depends_on"]["nodes"]:
            parent_layer = node_layer(nodes[parent_id])
            if parent_layer not in allowed:
                violations.append(
                    f"{layer} model {node['name']} reads {parent_layer} "
                    f"{nodes[parent_id]['name']} ({node['original_file_path']})"
                )
    return sorted(violations)


def python_sources_outside_their_file(manifest: dict) -> list[str]:
    """Sources of Python-written tables declared anywhere but the one sources file."""
    return sorted(
        f"{source['schema']}.{source['name']} in {source['original_file_path']}"
        for source in manifest["sources"].values()
        if source["schema"] not in EXTRACT_SCHEMAS
        and source["original_file_path"] != PYTHON_SOURCES_FILE
    )


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    target = tmp_path_factory.mktemp("dbt_layers")
    os.environ.setdefault("CUSTOMER360_WAREHOUSE", str(target / "unused.duckdb"))
    result = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(target / "logs"),
            "--quiet",
        ]
    )
    assert result.success, f"dbt parse failed: {result.exception}"
    return json.loads((target / "manifest.json").read_text())


def test_no_model_reads_against_the_layer_order(manifest: dict) -> None:
    violations = layer_violations(manifest)
    assert not violations, "dbt layers must run staging -> intermediate -> marts:\n" + "\n".join(
        violations
    )


def test_python_written_tables_are_declared_in_one_sources_file(manifest: dict) -> None:
    misplaced = python_sources_outside_their_file(manifest)
    assert not misplaced, f"declare these in dbt_project/{PYTHON_SOURCES_FILE}:\n" + "\n".join(
        misplaced
    )
    schemas = {
        s["schema"] for s in manifest["sources"].values() if s["schema"] not in EXTRACT_SCHEMAS
    }
    assert {"identity", "models"} <= schemas


def fake_model(name: str, folder: str, parents: list[str]) -> dict:
    return {
        "resource_type": "model",
        "name": name,
        "original_file_path": f"models/{folder}/{name}.sql",
        "depends_on": {"nodes": parents},
    }


def test_the_check_names_an_intermediate_model_that_reads_a_mart() -> None:
    """The rule itself: a mart fed back into intermediate, or a join in staging, is caught."""
    manifest = {
        "nodes": {
            "model.p.stg_a": fake_model("stg_a", "staging/a", ["source.p.raw.a", "model.p.stg_b"]),
            "model.p.stg_b": fake_model("stg_b", "staging/b", ["seed.p.rates"]),
            "model.p.int_x": fake_model("int_x", "intermediate/x", ["model.p.fct_y"]),
            "model.p.fct_y": fake_model("fct_y", "marts/core", ["model.p.stg_b"]),
            "model.p.dim_z": fake_model("dim_z", "marts/core", ["model.p.fct_y", "model.p.int_x"]),
            "seed.p.rates": {"resource_type": "seed", "name": "rates"},
        },
        "sources": {
            "source.p.raw.a": {
                "resource_type": "source",
                "name": "a",
                "schema": "raw",
                "original_file_path": "models/staging/a/_a__sources.yml",
            }
        },
    }
    assert layer_violations(manifest) == [
        "intermediate model int_x reads marts fct_y (models/intermediate/x/int_x.sql)",
        "staging model stg_a reads staging stg_b (models/staging/a/stg_a.sql)",
    ]
