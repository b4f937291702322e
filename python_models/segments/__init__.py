"""Rule segments that analysts declare in YAML, validated and compiled to dbt models.

`load_segment_definitions` turns the YAML text into validated definitions (every mistake is
reported with the segment, the field path and the offending value, before anything runs);
`compile_segments` turns definitions into the text of the dbt files. Both are pure; the
command line (`customer360 segments compile`) does the reading and writing.
"""

from python_models.segments.compiler import compile_segments, generated_files_are_stale
from python_models.segments.definitions import (
    SegmentDefinition,
    SegmentDefinitionError,
    load_segment_definitions,
)

__all__ = [
    "SegmentDefinition",
    "SegmentDefinitionError",
    "compile_segments",
    "generated_files_are_stale",
    "load_segment_definitions",
]
