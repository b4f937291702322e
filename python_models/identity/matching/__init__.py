"""Probabilistic person-record matching: normalisation, blocking, Fellegi-Sunter scoring,
clustering and quality metrics. See docs/decisions/0002-identity-matching.md.

Public API (stable):

    from python_models.identity.matching import (
        ColumnMapping, MatchConfig, find_links, cluster_records, pairwise_metrics,
        cluster_metrics, resolve_dataframe, candidate_pairs,
    )
"""

from python_models.identity.matching.clustering import cluster_ids_from_labels, cluster_records
from python_models.identity.matching.config import ColumnMapping, MatchConfig
from python_models.identity.matching.linking import (
    LINK_COLUMNS,
    LinkageStats,
    candidate_pairs,
    find_links,
    score_links_into,
)
from python_models.identity.matching.metrics import cluster_metrics, pairwise_metrics
from python_models.identity.matching.resolve import resolve_dataframe

__all__ = [
    "LINK_COLUMNS",
    "ColumnMapping",
    "LinkageStats",
    "MatchConfig",
    "candidate_pairs",
    "cluster_ids_from_labels",
    "cluster_metrics",
    "cluster_records",
    "find_links",
    "pairwise_metrics",
    "resolve_dataframe",
    "score_links_into",
]
