"""The raw contract: each raw table's columns, required columns, natural key and quality rules.

Declared once, in `tables.py`, as one `RawTable` per raw table. The extract loads files by it,
the quality package checks rows by its rules, the dbt source yml is generated from it
(`customer360 contract sync`; a test fails when the committed yml drifts) and the
data dictionary documents it. This package imports nothing else of the project, so every other
package may import it.
"""

from python_models.contract.spec import (
    METADATA,
    METADATA_COLUMNS,
    QUARANTINE_COLUMNS,
    Column,
    RawTable,
    Rule,
)
from python_models.contract.tables import (
    CONTRACT,
    RAW_TABLES,
    SOURCE_SYSTEMS,
    raw_table,
    tables_for,
)

__all__ = [
    "CONTRACT",
    "METADATA",
    "METADATA_COLUMNS",
    "QUARANTINE_COLUMNS",
    "RAW_TABLES",
    "SOURCE_SYSTEMS",
    "Column",
    "RawTable",
    "Rule",
    "raw_table",
    "tables_for",
]
