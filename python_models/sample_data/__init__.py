"""Synthetic landing data with ground truth, for demos, tests and benchmarks.

`python -m python_models.sample_data --customers N --seed S --out DIR --truth-out DIR2`
writes every source of the landing layout in docs/architecture.md (CRM, web events, shop,
POS, loyalty, support, consent, catalog) for N latent people, with realistic mess and a
configurable share of invalid rows, plus the truth (which record is which person, who
churned) that identity resolution and churn models are scored against.
"""

from python_models.sample_data.config import GeneratorConfig, MessinessConfig
from python_models.sample_data.generate import build_chunk, generate

__all__ = ["GeneratorConfig", "MessinessConfig", "build_chunk", "generate"]
