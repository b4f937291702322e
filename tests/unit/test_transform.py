"""dbt plumbing: stale manifests are noticed and stale sources are reported by name."""

from pathlib import Path

from python_models.transform import manifest_is_stale, summarise_freshness


def result(table: str, status: str, hours: float) -> dict:
    return {
        "unique_id": f"source.customer360.raw.{table}",
        "status": status,
        "max_loaded_at_time_ago_in_s": hours * 3600,
    }


def test_fresh_sources_give_no_messages() -> None:
    summary = summarise_freshness([result("crm_contacts", "pass", 1)])
    assert summary.checked == 1 and not summary.warnings and not summary.errors


def test_stale_sources_warn_and_very_stale_ones_fail_by_name() -> None:
    summary = summarise_freshness(
        [result("web_events", "warn", 60), result("shop_orders", "error", 200)]
    )
    assert summary.warnings == ["source raw.web_events is stale: newest event 60 h before as_of"]
    assert len(summary.errors) == 1 and "raw.shop_orders" in summary.errors[0]
    assert "200 h before as_of" in summary.errors[0]


def test_manifest_is_stale_when_missing_or_older_than_a_model(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    model = tmp_path / "models" / "m.sql"
    model.write_text("select 1")
    assert manifest_is_stale(tmp_path)


def test_a_held_duckdb_lock_is_transient_and_a_failed_test_is_not() -> None:
    from python_models.transform import is_transient_failure

    assert is_transient_failure(
        'IO Error: Could not set lock on file "/data/warehouse.duckdb": Conflicting lock is held'
    )
    assert not is_transient_failure("Failure in test not_null_dim_customers_customer_key")


def test_a_dbt_failure_is_summarised_by_the_first_error_dbt_logged() -> None:
    from python_models.transform import summarise_dbt_failure

    text = (
        "The dbt CLI process with command\n\n`dbt build`\n\nfailed with exit code `1`.\n\n"
        "Errors parsed from dbt logs:\n\nFailure in test not_null_dim_customers_customer_key"
        "\n\nCompilation Error in model int_x"
    )
    summary = summarise_dbt_failure(text)
    assert summary.splitlines()[0] == (
        "dbt build failed: Failure in test not_null_dim_customers_customer_key (and 1 more)"
    )
