"""The models' DuckDB share: `set_memory_limit` changes the database's limit, bad sizes fail."""

import pytest

from python_models.warehouse import connect, set_memory_limit


def test_set_memory_limit_lowers_the_limit_of_an_open_connection() -> None:
    with connect(":memory:", memory_limit="2GB") as con:
        before = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
        set_memory_limit(con, " 512MiB ")
        after = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
    assert before != after
    assert after == "512.0 MiB"


@pytest.mark.parametrize("bad", ["4 gigs", "", "4GB'; drop table x; --", "-1GB"])
def test_a_bad_size_names_the_setting_to_fix(bad: str) -> None:
    with connect(":memory:", memory_limit="1GB") as con, pytest.raises(ValueError) as error:
        set_memory_limit(con, bad)
    assert "CUSTOMER360_MODELS_DUCKDB_MEMORY_LIMIT" in str(error.value)
