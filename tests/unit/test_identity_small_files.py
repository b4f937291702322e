"""Small files full of duplicates (FEBRL: 1,000 records, 500 true pairs) are scored as a
large file would be (issue #20): the matches among the random pairs do not count as
non-matches, and a value held only by the pair being scored, or by one person's records, is
not taken to be common."""

import duckdb
import numpy as np
import pytest

from python_models.identity.comparisons import Comparison, Level
from python_models.identity.config import MatchConfig
from python_models.identity.prepare import add_frequencies_into
from python_models.identity.training import FellegiSunterModel, estimate_u, non_match_counts


def test_matches_among_random_pairs_do_not_inflate_u():
    # one comparison (street exact / else); among 1,000 random pairs of a duplicate-dense
    # file one is a match (it agrees), and one non-match agrees by chance
    patterns = np.array([[0], [1]])
    counts = np.array([2.0, 998.0])
    model = FellegiSunterModel(
        names=["street"],
        m=[np.array([0.9, 0.1])],
        u=[np.array([0.002, 0.998])],
        match_share=0.01,
        iterations=1,
        prior_probability=0.001,
    )
    kept = non_match_counts(patterns, counts, model)
    # the agreeing pairs are mostly the expected match; the disagreeing ones all non-matches
    assert kept[0] == pytest.approx(2 * (1 - 0.31), abs=0.02)
    assert kept[1] == pytest.approx(998, rel=1e-3)
    raw_u = estimate_u(patterns, counts, [2], prior_pairs=0)[0]
    clean_u = estimate_u(patterns, kept, [2], prior_pairs=0)[0]
    assert clean_u[0] < raw_u[0] * 0.75


def test_value_frequency_counts_only_other_peoples_records():
    con = duckdb.connect()
    con.execute(
        "create table r as select * from (values (0, 'a', 'ANA'), (1, 'a', 'ANA'),"
        " (2, 'b', 'BN'), (3, 'b', 'BN'), (4, 'b', 'BN'),"
        " (5, 'c', 'KRL'), (6, 'c', 'TF'), (7, 'c', 'MR'), (8, null, 'X'))"
        " t(rid, street, given_phonetic)"
    )
    street = Comparison("street", "street", (Level("exact", "l.street = r.street"),))
    add_frequencies_into(con, "r", [street], MatchConfig(), "f")
    tf = dict(
        con.execute(
            "select street, tf_street from r inner join f using (rid) where street is not null"
        ).fetchall()
    )
    # 'a' is held only by the two records an exact pair on it consists of, 'b' by one
    # person's three records (one given name): no one else holds them, so their TF
    # adjustment gives the full boost instead of a penalty
    assert tf["a"] == 0.0 and tf["b"] == 0.0
    # 'c': three people; beyond a pair of them, one record of the 6 others holds it
    assert tf["c"] == pytest.approx(1 / 6)
