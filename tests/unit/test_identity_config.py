"""One identity configuration: the matcher's settings nested in it, every field reachable
from the Dagster run config with the library's own default."""

import pytest
from pydantic import ValidationError

from orchestration.defs.identity.resolution import IdentityResolutionConfig
from python_models.identity.config import IdentityConfig, MatchConfig


def test_every_setting_is_reachable_from_the_dagster_config():
    dagster_fields = set(IdentityResolutionConfig.model_fields)
    assert dagster_fields == set(IdentityConfig.model_fields)
    matching = IdentityResolutionConfig.model_fields["matching"].annotation
    assert set(matching.model_fields) == set(MatchConfig.model_fields)


def test_dagster_defaults_are_the_library_defaults():
    assert IdentityResolutionConfig().identity_config() == IdentityConfig()


def test_a_threshold_set_in_dagster_reaches_the_matcher():
    run = IdentityResolutionConfig(
        matching={"auto_link_probability": 0.99, "gmail_dot_rule": False},
        max_cluster_names=5,
        fuzzy_vetoes=["birth_date_conflict"],
    )
    config = run.identity_config()
    assert config.matching.auto_link_probability == 0.99
    assert config.matching.gmail_dot_rule is False
    assert config.max_cluster_names == 5
    assert config.fuzzy_vetoes == ("birth_date_conflict",)


def test_thresholds_out_of_order_are_rejected_by_name():
    with pytest.raises(ValidationError, match="review_probability <= auto_link_probability"):
        MatchConfig(auto_link_probability=0.7, review_probability=0.8)
    with pytest.raises(ValidationError, match="strip_plus_addressing"):
        MatchConfig(strip_plus_addressing=False)
