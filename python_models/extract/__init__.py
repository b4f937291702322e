"""Extract: landing files → `raw.<table>`, once per file content, with an audit trail.

`SOURCES` (python_models.extract.sources) is the registry of raw tables; `load_landing_dir`
loads every new file of one source system or of all, and returns a `LoadReport`.
"""

from python_models.extract.loader import FileOutcome, LoadReport, load_landing_dir
from python_models.extract.sources import SOURCE_SYSTEMS, SOURCES, RawTable, tables_for

__all__ = [
    "SOURCES",
    "SOURCE_SYSTEMS",
    "FileOutcome",
    "LoadReport",
    "RawTable",
    "load_landing_dir",
    "tables_for",
]
