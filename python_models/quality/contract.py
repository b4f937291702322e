"""Raw-table columns for the quality package, read from their one owner: the extract registry.

Quarantine tables mirror `raw.<table>` (file columns + `_` metadata) plus the quarantine
columns, so they can be created before the first load has created `raw.<table>`.
"""

from python_models.extract.sources import SOURCES
from python_models.extract.sql import METADATA_COLUMNS, QUARANTINE_COLUMNS

__all__ = ["METADATA_COLUMNS", "QUARANTINE_COLUMNS", "file_columns"]


def file_columns(table: str) -> tuple[str, ...]:
    """The file columns of raw.<table>, in file order."""
    try:
        return SOURCES[table].columns
    except KeyError:
        raise KeyError(
            f"unknown raw table {table!r}: the extract registry has {', '.join(sorted(SOURCES))}"
        ) from None
