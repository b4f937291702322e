"""Identity resolution: turn person-bearing source records into stable customer keys.

The matcher is split as Splink splits it, one module per step:

- `normalise`: pure normalisers (names, the one email and phone function, dates, streets)
  and the one list of generic mailboxes;
- `prepare`: records -> normalised DuckDB rows with blocking/comparison columns and value
  frequencies;
- `blocking`: blocking rules and candidate pairs;
- `comparisons`: comparison levels as SQL;
- `training`: Fellegi-Sunter u/m estimation (random pairs, EM);
- `predict`: scoring candidate pairs into links (`find_links`, `score_links_into`);
- `clustering`: the one connected-components implementation and cluster ids;
- `metrics`: pairwise and cluster quality.

`config` holds the one configuration object (`IdentityConfig`, the matcher's `MatchConfig`
nested as `.matching`), `mapping` the bring-your-own-data column mapping, and `dataframe`
the one-call resolver for a user's own records. The warehouse pipeline is `pipeline`
(`resolve_identities`): deterministic links in SQL (`deterministic`), fuzzy links from the
matcher, over-merge guards (`guards`), stable keys (`keys`) and one transactional write of
the `identity.*` tables (`store`). `evaluate` scores the graph against generated truth.
"""

from python_models.identity.blocking import candidate_pairs
from python_models.identity.clustering import (
    cluster_ids_from_labels,
    cluster_records,
    connected_components,
)
from python_models.identity.config import IdentityConfig, MatchConfig
from python_models.identity.dataframe import resolve_dataframe
from python_models.identity.mapping import ColumnMapping
from python_models.identity.metrics import cluster_metrics, pairwise_metrics
from python_models.identity.predict import LINK_COLUMNS, find_links, score_links_into
from python_models.identity.stats import LinkageStats

__all__ = [
    "LINK_COLUMNS",
    "ColumnMapping",
    "IdentityConfig",
    "LinkageStats",
    "MatchConfig",
    "candidate_pairs",
    "cluster_ids_from_labels",
    "cluster_metrics",
    "cluster_records",
    "connected_components",
    "find_links",
    "pairwise_metrics",
    "resolve_dataframe",
    "score_links_into",
]
