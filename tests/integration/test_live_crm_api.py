"""The CRM API extract against the real local API server (uvicorn), every fault switched on once.

After each fault the warehouse's current contacts (latest raw version per crm_id, whether or
not a quality rule holds it in quarantine) must equal the API's contacts, no page may be
loaded twice, the token must not appear anywhere, and `audit.load_audit` must say what
happened.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from python_models.extract.live.crm_api import (
    CrmApiConfig,
    TokenRejected,
    extract_crm_contacts,
    reset_cursor,
)
from python_models.extract.live.landing import LiveSourceError
from python_models.sample_data.crm_api import ContactStore, CrmApiServer, Faults
from python_models.warehouse import connect

SAMPLE = Path(__file__).resolve().parents[2] / "seeds" / "sample"
TOKEN = "crm-test-token-5f1e"
CURRENT = """
select crm_id, phone, email from raw.crm_contacts
where crm_id is not null
qualify row_number() over (partition by crm_id order by _loaded_at desc, _load_id desc) = 1
"""


@pytest.fixture(scope="module")
def contacts() -> list:
    store = ContactStore.from_landing_dir(SAMPLE)
    return list(store._by_id.values())[:600]


@pytest.fixture
def api(contacts):
    """A fresh server per test (own store and fault switches), on a free port."""
    import copy

    server = CrmApiServer(ContactStore(copy.deepcopy(contacts)), TOKEN, Faults())
    with server:
        yield server


@pytest.fixture
def warehouse(tmp_path: Path):
    con = connect(tmp_path / "warehouse.duckdb", memory_limit="1GB")
    yield con
    con.close()


def _config(api: CrmApiServer, **changes) -> CrmApiConfig:
    settings = {"page_size": 50, "pages_per_commit": 2, "backoff_initial_seconds": 0.01}
    return CrmApiConfig(base_url=api.url, token=TOKEN, **{**settings, **changes})


def assert_equal_to_source(con, api: CrmApiServer, missing: set[str] = frozenset()) -> None:
    source = {k: (v["phone"], v["email"]) for k, v in api.store.snapshot().items()}
    current = {r[0]: (r[1], r[2]) for r in con.execute(CURRENT).fetchall()}
    assert current == {k: v for k, v in source.items() if k not in missing}
    twice = con.execute(
        "select count(*) from (select _load_id, crm_id from raw.crm_contacts "
        "where crm_id is not null group by all having count(*) > 1)"
    ).fetchone()[0]
    assert twice == 0


def audit(con) -> list[tuple]:
    return con.execute(
        "select status, rows_read, rows_loaded, cursor_before, cursor_after, notes "
        "from audit.load_audit where raw_table = 'crm_contacts' order by loaded_at"
    ).fetchall()


def test_incremental_extract_and_rerun_loads_nothing(warehouse, api):
    first = extract_crm_contacts(warehouse, _config(api))
    assert first.rows_loaded == len(api.store) == 600
    assert_equal_to_source(warehouse, api)
    again = extract_crm_contacts(warehouse, _config(api))
    assert again.rows_loaded == 0 and again.cursor_before == first.cursor_after
    changed = api.store.change(0.02, seed=3)
    third = extract_crm_contacts(warehouse, _config(api))
    assert third.rows_loaded == len(changed) and third.rows_read < 100  # only what changed
    assert_equal_to_source(warehouse, api)
    assert [row[0] for row in audit(warehouse)] == ["loaded"] * 3
    # a reset re-reads everything and still loads nothing twice
    reset_cursor(warehouse)
    assert extract_crm_contacts(warehouse, _config(api)).rows_loaded == 0


def test_429_with_retry_after_is_waited_out(warehouse, api):
    api.faults.rate_limited_requests = {2, 5}
    api.faults.retry_after_seconds = 1
    outcome = extract_crm_contacts(warehouse, _config(api))
    assert api.stats.rate_limited == 2
    assert "2 x rate_limited" in " ".join(outcome.notes)
    assert "waited 2." in " ".join(outcome.notes)  # the Retry-After, not the back-off
    assert_equal_to_source(warehouse, api)


def test_500_then_success_dropped_connection_and_malformed_page(warehouse, api):
    api.faults.error_requests = {2, 3}
    api.faults.dropped_requests = {6}
    api.faults.malformed_requests = {9}
    outcome = extract_crm_contacts(warehouse, _config(api))
    assert (api.stats.errors, api.stats.dropped, api.stats.malformed) == (2, 1, 1)
    notes = " ".join(outcome.notes)
    assert "2 x server_error" in notes and "1 x connection" in notes and "1 x malformed" in notes
    assert outcome.rows_loaded == 600
    assert_equal_to_source(warehouse, api)


def test_record_without_id_is_quarantined_whole(warehouse, api):
    api.faults.missing_id_requests = {3}
    outcome = extract_crm_contacts(warehouse, _config(api))
    held = warehouse.execute(
        "select failed_rules, json_extract(_extra, '$.record_without_id.properties.email') "
        "from quarantine.crm_contacts where crm_id is null"
    ).fetchall()
    assert len(held) == 1 and held[0][1] is not None
    assert "1 records without an id held in quarantine" in outcome.notes
    # every contact but the one whose id the page lost is in the warehouse
    email = held[0][1].strip('"')
    lost = {k for k, v in api.store.snapshot().items() if v["email"] == email}
    assert len(lost) >= 1
    assert_equal_to_source(warehouse, api, missing=lost)


def test_interrupted_extract_resumes_and_never_loads_a_page_twice(warehouse, api):
    config = _config(api, max_attempts=2)
    api.faults.error_requests = set(range(8, 12))  # page 8 fails beyond the retries
    with pytest.raises(LiveSourceError, match="resumes there"):
        extract_crm_contacts(warehouse, config)
    written = warehouse.execute("select count(*) from raw.crm_contacts").fetchone()[0]
    assert written == 300  # pages 1-6 (three commits of two pages); page 7 was not committed
    api.faults.error_requests = set()
    requests_before = api.stats.requests
    resumed = extract_crm_contacts(warehouse, config)
    assert "resumed an interrupted extract after page 6" in resumed.notes
    assert resumed.rows_loaded == 300 and resumed.rows_read == 300
    assert api.stats.requests - requests_before == 6
    assert_equal_to_source(warehouse, api)
    assert [row[0] for row in audit(warehouse)] == ["failed", "loaded"]


def test_expired_token_is_a_clear_error_and_nothing_half_written(warehouse, api, caplog):
    caplog.set_level(logging.DEBUG)
    api.faults.token_expires_after = 3
    with pytest.raises(TokenRejected) as failure:
        extract_crm_contacts(warehouse, _config(api))
    message = str(failure.value)
    assert "Renew the API token" in message and "token expired" in message
    assert TOKEN not in message
    # two pages asked, one commit of two pages; the third page's answer was a 401
    assert warehouse.execute("select count(*) from raw.crm_contacts").fetchone()[0] == 100
    api.faults.token_expires_after = None
    extract_crm_contacts(warehouse, _config(api))
    assert_equal_to_source(warehouse, api)
    recorded = audit(warehouse)
    assert [row[0] for row in recorded] == ["failed", "loaded"]
    everything = (
        caplog.text
        + repr(recorded)
        + repr(warehouse.execute("select * from audit.live_cursors").fetchall())
    )
    assert TOKEN not in everything
    assert TOKEN not in repr(_config(api))


def test_api_benchmark_shaped_run_with_random_faults(warehouse, api):
    """1 % 429 and 0.5 % 500 at random, as the benchmark runs them, at test size."""
    api.faults.rate_limited_share = 0.05
    api.faults.error_share = 0.05
    api.faults.retry_after_seconds = 0
    extract_crm_contacts(warehouse, _config(api, page_size=20))
    assert api.stats.rate_limited + api.stats.errors > 0
    assert_equal_to_source(warehouse, api)


def test_erasure_tombstones_block_an_erased_persons_contact(warehouse, api):
    from python_models.privacy.identifiers import normalise_identifier
    from python_models.privacy.keys import token
    from python_models.privacy.tombstones import ensure_tombstone_table

    key = b"test-privacy-key-for-live-sources-0123456789"
    crm_id, props = next((k, v) for k, v in api.store.snapshot().items() if v["email"])
    ensure_tombstone_table(warehouse)
    warehouse.execute(
        "insert into privacy.tombstones values ('email', ?, 'req-1', current_timestamp)",
        [token(key, "email", normalise_identifier("email", props["email"]))],
    )
    outcome = extract_crm_contacts(warehouse, _config(api, tombstone_key=key))
    assert outcome.rows_blocked >= 1
    assert_equal_to_source(warehouse, api, missing={crm_id})
    with pytest.raises(Exception, match="CUSTOMER360_PRIVACY_KEY"):
        extract_crm_contacts(warehouse, _config(api))  # tombstones and no key: refuse
