"""What is in the landing directory, as a fingerprint a sensor can compare between ticks."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LandingFingerprint:
    """Relative path → (size, mtime in ns) for every visible file under the landing dir."""

    files: dict[str, tuple[int, int]]

    def digest(self) -> str:
        return hashlib.sha256(self.to_cursor().encode()).hexdigest()[:16]

    def to_cursor(self) -> str:
        return json.dumps(self.files, sort_keys=True)

    @classmethod
    def from_cursor(cls, cursor: str | None) -> "LandingFingerprint":
        if not cursor:
            return cls(files={})
        return cls(files={k: tuple(v) for k, v in json.loads(cursor).items()})


def landing_fingerprint(root: Path) -> LandingFingerprint:
    files: dict[str, tuple[int, int]] = {}
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if path.is_file() and not any(part.startswith((".", "_")) for part in relative.parts):
                stat = path.stat()
                files[str(relative)] = (stat.st_size, stat.st_mtime_ns)
    return LandingFingerprint(files=files)


def new_files_since(cursor: str | None, current: LandingFingerprint) -> list[str]:
    """Files that are new, or changed, since the fingerprint stored in `cursor`."""
    previous = LandingFingerprint.from_cursor(cursor).files
    return [name for name, stamp in current.files.items() if previous.get(name) != stamp]
