"""Keyed hashes (HMAC-SHA256) of normalised identifiers, in Python and in DuckDB SQL.

An unkeyed hash of an email falls to a dictionary attack (hash every address of a leaked
list), so tombstones and the pseudonymised analytics views use HMAC with a secret key from
the environment (`orchestration.settings`). DuckDB has `sha256` but no `hmac`; the SQL
below is RFC 2104 spelled out: sha256((K ^ opad) || sha256((K ^ ipad) || message)), with
the two padded keys computed here and inlined as hex, so hashing stays set-based in SQL.
The message is `<kind>:<normalised value>`, so an email never collides with a record id.
"""

from __future__ import annotations

import hashlib
import hmac

_BLOCK = 64  # SHA-256's block size in bytes


def token(key: bytes, kind: str, normalised: str) -> str:
    """HMAC-SHA256 (hex) of `<kind>:<normalised>` under `key`."""
    return hmac.new(key, f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()


def _padded_keys(key: bytes) -> tuple[str, str]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in key).hex()
    outer = bytes(b ^ 0x5C for b in key).hex()
    return inner, outer


def hmac_sql(key: bytes, message_sql: str) -> str:
    """DuckDB SQL: HMAC-SHA256 (lower-case hex) of the VARCHAR expression `message_sql`."""
    inner, outer = _padded_keys(key)
    return f"sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode({message_sql}))))"


def token_sql(key: bytes, kind_sql: str, normalised_sql: str) -> str:
    """DuckDB SQL for `token`: `kind_sql` and `normalised_sql` are VARCHAR expressions."""
    return hmac_sql(key, f"({kind_sql} || ':' || {normalised_sql})")
