"""Run the generator: people in chunks -> source tables -> invalid rows -> files + truth.

Chunks are independent (each has its own seed derived from the run seed and chunk number),
so memory stays bounded by one chunk and the output is identical for identical arguments.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from python_models.sample_data import sources as src
from python_models.sample_data.config import GeneratorConfig
from python_models.sample_data.invalid import BROKEN_LINE, inject_invalid_rows
from python_models.sample_data.people import make_people
from python_models.sample_data.writer import (
    SOURCE_FILES,
    append_csv,
    write_csv,
    write_web_events,
)
from python_models.warehouse import connect

TABLE_ORDER = tuple(SOURCE_FILES)


def _rng(config: GeneratorConfig, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([config.seed, *key]))


def build_chunk(
    config: GeneratorConfig, chunk_index: int, catalog: src.Catalog
) -> tuple[pd.DataFrame, src.ChunkOutput]:
    """People of one chunk and every source table rendered from them (no I/O)."""
    start = chunk_index * config.chunk_size
    n = min(config.chunk_size, config.customers - start)
    rng = _rng(config, 1, chunk_index)
    people = make_people(config, chunk_index, start, n, rng)
    out = src.ChunkOutput()
    first_crm = src.build_crm(people, config, chunk_index, rng, out)
    online, store = src.purchase_channels(people, config, rng)
    orders = src.build_shop(people, first_crm, catalog, config, chunk_index, rng, out, online)
    src.build_pos(people, catalog, config, chunk_index, rng, out, store)
    src.build_support(people, config, chunk_index, rng, out)
    src.build_consent(people, config, chunk_index, rng, out)
    src.build_web(people, orders, catalog, config, chunk_index, rng, out)
    return people, out


def _clear_previous_output(out_dir: Path, truth_dir: Path) -> None:
    """Remove files an earlier run wrote here (only our own names), so parts never mix."""
    for spec in SOURCE_FILES.values():
        for old in (out_dir / spec.folder).glob(f"{spec.stem}_*.{spec.ext}"):
            old.unlink()
    for name in ("records.csv", "people.csv", "churn_cutoff.txt", "manifest.json"):
        (truth_dir / name).unlink(missing_ok=True)
    (truth_dir / "invalid_rows.csv").unlink(missing_ok=True)


def _fault_frame(
    spec_table: str, rel_path: str, table: pa.Table, faults: list[tuple[int, str]]
) -> pd.DataFrame:
    rows = np.array([r for r, _ in faults], dtype=np.int64)
    keys = SOURCE_FILES[spec_table].key
    key_values = [table.column(k).take(pa.array(rows)).to_pylist() for k in keys]
    return pd.DataFrame(
        {
            "source_file": rel_path,
            "row_number": rows + 1,
            "record_key": [
                ":".join(str(v) for v in vals) for vals in zip(*key_values, strict=True)
            ],
            "rule": [rule for _, rule in faults],
        }
    )


def _people_truth(people: pd.DataFrame) -> pd.DataFrame:
    churned_at = pd.to_datetime(people["churned_at"], unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return pd.DataFrame(
        {
            "person_id": people["person_id"],
            "household_id": people["household_id"],
            "churned": np.where(people["churned"], "true", "false"),
            "churned_at": np.where(people["churned"], churned_at, ""),
            "segment_profile": people["profile"],
        }
    )


@dataclass
class ChunkResult:
    """What a chunk job hands back to the run: truth rows and counters (files are written)."""

    records: pd.DataFrame
    people: pd.DataFrame
    invalid_rows: pd.DataFrame
    rows: Counter
    files: dict[str, list[str]]
    faults: dict[str, Counter]
    stats: Counter
    households: int
    churned: int


def _write_tables(
    config: GeneratorConfig,
    out_dir: Path,
    tables: dict[str, pa.Table],
    part: int | None,
    rng_key: tuple[int, ...],
    memory_limit: str,
) -> tuple[Counter, dict[str, list[str]], dict[str, Counter], pd.DataFrame]:
    """Inject invalid rows into each table, write it, and report what was written."""
    con = connect(":memory:", memory_limit=memory_limit, threads=1)
    con.execute("set enable_progress_bar = false")
    rows: Counter = Counter()
    files: dict[str, list[str]] = defaultdict(list)
    faults_by_table: dict[str, Counter] = defaultdict(Counter)
    fault_frames = []
    try:
        for name, table in tables.items():
            t_index = TABLE_ORDER.index(name)
            spec = SOURCE_FILES[name]
            table, faults = inject_invalid_rows(
                name,
                table,
                config.invalid_rate,
                _rng(config, 2, *rng_key, t_index),
                config.as_of_epoch,
                csv=spec.ext == "csv",
            )
            path = spec.path(out_dir, config.file_date, part)
            rel_path = path.relative_to(out_dir).as_posix()
            if spec.ext == "csv":
                broken = [r for r, rule in faults if rule == BROKEN_LINE]
                write_csv(con, table, path, broken, _rng(config, 3, *rng_key, t_index))
            else:
                level = 6 if config.customers <= 50_000 else 1
                write_web_events(table, path, compresslevel=level)
            rows[name] += table.num_rows
            files[name].append(rel_path)
            faults_by_table[name].update(rule for _, rule in faults)
            if faults:
                fault_frames.append(_fault_frame(name, rel_path, table, faults))
    finally:
        con.close()
    invalid = (
        pd.concat(fault_frames, ignore_index=True)
        if fault_frames
        else pd.DataFrame(columns=["source_file", "row_number", "record_key", "rule"])
    )
    return rows, files, faults_by_table, invalid


def run_chunk(
    config: GeneratorConfig,
    chunk_index: int,
    catalog: src.Catalog,
    out_dir: Path,
    memory_limit: str,
) -> ChunkResult:
    """Build, break and write one chunk; runs in a worker process when workers > 1."""
    people, out = build_chunk(config, chunk_index, catalog)
    part = chunk_index if config.n_chunks > 1 else None
    rows, files, faults, invalid = _write_tables(
        config, out_dir, out.tables, part, (1, chunk_index), memory_limit
    )
    return ChunkResult(
        records=pd.concat(out.truth, ignore_index=True),
        people=_people_truth(people),
        invalid_rows=invalid,
        rows=rows,
        files=files,
        faults=faults,
        stats=out.stats,
        households=int(people["household_id"].nunique()),
        churned=int(people["churned"].sum()),
    )


def generate(
    config: GeneratorConfig,
    out_dir: Path,
    truth_dir: Path,
    workers: int = 1,
    *,
    memory_limit: str,
) -> dict[str, Any]:
    """Write the landing files and ground truth; return the manifest (also written).

    `workers` > 1 builds chunks in that many processes; output is identical either way.
    `memory_limit` is the DuckDB memory limit of each file-writing connection.
    """
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    if out_dir.resolve() == truth_dir.resolve():
        raise ValueError("--out and --truth-out must be different folders")
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    _clear_previous_output(out_dir, truth_dir)

    catalog = src.make_catalog(config, _rng(config, 0))
    rows, files, faults_by_table, invalid = _write_tables(
        config, out_dir, {"catalog_products": catalog.to_table()}, None, (0,), memory_limit
    )
    append_csv(truth_dir / "invalid_rows.csv", invalid, header=True)
    truth_counts: Counter = Counter()
    stats: Counter = Counter()
    people_count = households = churned = 0

    chunk_indices = range(config.n_chunks)
    if workers > 1 and config.n_chunks > 1:
        pool = ProcessPoolExecutor(max_workers=min(workers, config.n_chunks))
        results = pool.map(
            run_chunk,
            repeat(config),
            chunk_indices,
            repeat(catalog),
            repeat(out_dir),
            repeat(memory_limit),
        )
    else:
        pool = None
        results = (run_chunk(config, i, catalog, out_dir, memory_limit) for i in chunk_indices)
    try:
        for chunk_index, result in zip(chunk_indices, results, strict=True):
            first = chunk_index == 0
            append_csv(truth_dir / "records.csv", result.records, header=first)
            append_csv(truth_dir / "people.csv", result.people, header=first)
            append_csv(truth_dir / "invalid_rows.csv", result.invalid_rows, header=False)
            truth_counts.update(result.records["source_system"].value_counts().to_dict())
            rows.update(result.rows)
            for name, paths in result.files.items():
                files[name].extend(paths)
            for name, counter in result.faults.items():
                faults_by_table[name].update(counter)
            stats.update(result.stats)
            people_count += len(result.people)
            households += result.households
            churned += result.churned
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)

    cutoff = config.churn_cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")
    (truth_dir / "churn_cutoff.txt").write_text(cutoff + "\n", encoding="utf-8")
    manifest = _manifest(
        config, cutoff, rows, files, faults_by_table, truth_counts, stats,
        people_count, households, churned,
    )  # fmt: skip
    (truth_dir / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest


def _rate(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 5) if denominator else 0.0


def _manifest(
    config: GeneratorConfig,
    cutoff: str,
    rows: Counter,
    files: dict[str, list[str]],
    faults_by_table: dict[str, Counter],
    truth_counts: Counter,
    stats: Counter,
    people_count: int,
    households: int,
    churned: int,
) -> dict[str, Any]:
    person_sources = ("crm", "shop", "loyalty", "support", "consent")
    messiness: dict[str, Any] = {}
    for source in person_sources:
        s = {k.split(".", 1)[1]: v for k, v in stats.items() if k.startswith(source + ".")}
        entry: dict[str, Any] = {"counts": dict(sorted(s.items()))}
        rates: dict[str, float] = {}
        if s.get("name_fields"):
            rates["name_typo"] = _rate(s["name_typos"], s["name_fields"])
            rates["nickname"] = _rate(s["nicknames"], s["records"])
            rates["swapped_names"] = _rate(s["swapped_names"], s["records"])
        if s.get("email_rows"):
            for k in ("email_variants", "email_second_address", "email_generic", "email_missing"):
                rates[k] = _rate(s[k], s["email_rows"])
        if s.get("phone_rows"):
            present = s["phone_rows"] - s["phone_missing"]
            rates["phone_missing"] = _rate(s["phone_missing"], s["phone_rows"])
            for k in ("phone_not_e164", "phone_household_landline"):
                rates[k] = _rate(s[k], present)
        entry["rates"] = rates
        messiness[source] = entry
    messiness["web"] = {k.split(".", 1)[1]: v for k, v in stats.items() if k.startswith("web.")}
    messiness["pos"] = {k.split(".", 1)[1]: v for k, v in stats.items() if k.startswith("pos.")}
    invalid = {
        name: {
            "rows": sum(faults_by_table[name].values()),
            "rate": _rate(sum(faults_by_table[name].values()), rows[name]),
            "by_rule": dict(sorted(faults_by_table[name].items())),
        }
        for name in TABLE_ORDER
    }
    return {
        "generator": "python_models.sample_data",
        "config": config.to_dict(),
        "churn_cutoff": cutoff,
        "people": people_count,
        "households": households,
        "churned_people": churned,
        "rows": {name: rows[name] for name in TABLE_ORDER},
        "files": {name: files[name] for name in TABLE_ORDER},
        "truth_records": dict(sorted(truth_counts.items())),
        "messiness": messiness,
        "invalid_rows": invalid,
    }
