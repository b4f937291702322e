"""Extract: landing files -> `raw.<table>`, once per file content, with an audit trail.

Which raw tables exist, where their files land and which columns they carry is the raw
contract's (`python_models.contract`); `load_landing_dir` loads every new file of one source
system or of all, runs the quarantine step its caller hands in, and returns a `LoadReport`.
"""

from python_models.extract.loader import FileOutcome, LoadReport, QuarantineFn, load_landing_dir

__all__ = ["FileOutcome", "LoadReport", "QuarantineFn", "load_landing_dir"]
