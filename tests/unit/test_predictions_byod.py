"""Bring your own data: clear errors on bad rows; ours vs BG/NBD and popularity on a file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from python_models.predictions.byod import (
    InputFileError,
    InteractionColumns,
    TransactionColumns,
    load_interactions,
    load_transactions,
)
from python_models.sample_data.transactions import generate_interactions, generate_transactions

COLUMNS = TransactionColumns(customer_id="CustomerID", ordered_at="InvoiceDate", amount="Total")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unparseable_date_names_file_row_and_column(tmp_path) -> None:
    path = write(
        tmp_path / "orders.csv",
        "CustomerID,InvoiceDate,Total\nc1,2026-01-03,10\nc2,03/01/2026 x,5\nc3,2026-02-01,7\n",
    )
    with pytest.raises(InputFileError) as error:
        load_transactions(duckdb.connect(), path, COLUMNS)
    message = str(error.value)
    assert str(path) in message and "row 2" in message and "'InvoiceDate'" in message
    assert "'03/01/2026 x'" in message and "ISO 8601" in message


def test_a_negative_amount_is_refused_with_its_row(tmp_path) -> None:
    path = write(
        tmp_path / "orders.csv",
        "CustomerID,InvoiceDate,Total\nc1,2026-01-03,10\nc1,2026-01-04,10\nc2,2026-01-05,-4.5\n",
    )
    with pytest.raises(InputFileError, match=r"row 3, column 'Total': value '-4.5' is negative"):
        load_transactions(duckdb.connect(), path, COLUMNS)


def test_a_missing_column_lists_what_the_file_has(tmp_path) -> None:
    path = write(tmp_path / "orders.csv", "id,date,amount\nc1,2026-01-03,10\n")
    with pytest.raises(InputFileError, match=r"missing customer id column 'CustomerID'"):
        load_transactions(duckdb.connect(), path, COLUMNS)


def test_a_bad_interaction_timestamp_names_its_row(tmp_path) -> None:
    path = write(tmp_path / "events.csv", "u,i,ts\na,x,2026-01-01\nb,y,yesterday\n")
    with pytest.raises(InputFileError, match=r"row 2, column 'ts': value 'yesterday'"):
        load_interactions(duckdb.connect(), path, InteractionColumns("u", "i", "ts"))


def test_churn_eval_prints_ours_and_bgnbd_on_the_same_split(tmp_path, run_cli) -> None:
    orders = generate_transactions(300, seed=9).rename(
        columns={"customer_id": "CustomerID", "ordered_at": "InvoiceDate", "amount": "Total"}
    )
    path = tmp_path / "orders.csv"
    orders.to_csv(path, index=False)
    result = run_cli(
        "predict", "churn-eval", path, "--customer-column", "CustomerID",
        "--date-column", "InvoiceDate", "--amount-column", "Total", "--train-cutoffs", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for label in ("ROC-AUC", "PR-AUC", "Brier", "BG/NBD expected purchases", "recency alone"):
        assert label in result.stdout
    assert "purchases per customer MAE" in result.stdout
    assert "value per customer MAE" in result.stdout


def test_recs_eval_prints_ours_vs_popularity(tmp_path, run_cli) -> None:
    events, _ = generate_interactions(300, seed=2)
    path = tmp_path / "events.parquet"
    events.rename(columns={"occurred_at": "ts"}).drop(columns="event_type").to_parquet(path)
    result = run_cli("predict", "recs-eval", path, "--time-column", "ts")
    assert result.exit_code == 0, result.output
    assert "popularity" in result.stdout and "precision@10" in result.stdout
    assert "als" in result.stdout


def test_the_command_exits_2_with_the_message_on_bad_input(tmp_path, run_cli) -> None:
    path = write(tmp_path / "orders.csv", "customer_id,ordered_at,amount\nc1,not a date,1\n")
    result = run_cli("predict", "churn-eval", path)
    assert result.exit_code == 2
    assert "row 1, column 'ordered_at'" in " ".join(result.stderr.split())
