"""Erasure and access requests: from the command line or a requests file.

A requests file is CSV with the header `request_id,identifier_type,identifier` (UTF-8),
one identifier per line; several lines may share a request id (a person known by an email
and a loyalty card). `identifier_type` is one of email, phone, loyalty_id, crm_id,
customer_key. A malformed file is rejected whole, naming the file, line and reason, so
no half of a batch is erased.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from python_models.privacy.identifiers import REQUEST_KINDS, normalise_identifier

HEADER = ("request_id", "identifier_type", "identifier")
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


class MalformedRequests(ValueError):
    """A requests file that cannot be used; the message names file, line and reason."""


@dataclass(frozen=True)
class IdentifierRequest:
    """One identifier of one request, as given and normalised (never stored as given)."""

    request_id: str
    kind: str
    value: str
    normalised: str


def make_request(request_id: str, kind: str, value: str) -> IdentifierRequest:
    """Validate one identifier of a request; raises ValueError saying what is wrong."""
    if not REQUEST_ID_PATTERN.fullmatch(request_id or ""):
        raise ValueError(
            f"request_id {request_id!r} must be 1-100 letters, digits or . _ : - "
            "(starting with a letter or digit)"
        )
    if kind not in REQUEST_KINDS:
        raise ValueError(f"identifier_type {kind!r} is not one of {', '.join(REQUEST_KINDS)}")
    normalised = normalise_identifier(kind, value)
    if normalised is None:
        raise ValueError(f"identifier is not a valid {kind} (empty or malformed)")
    return IdentifierRequest(request_id, kind, value.strip(), normalised)


def parse_requests_text(text: str, name: str) -> list[IdentifierRequest]:
    """Parse a requests file's text; raises MalformedRequests naming `name`, line, reason."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise MalformedRequests(
            f"{name}: line 1: empty file; expected the header {','.join(HEADER)}"
        )
    header = tuple(c.strip().lower() for c in rows[0])
    if header != HEADER:
        raise MalformedRequests(
            f"{name}: line 1: header is {','.join(rows[0])!r}; expected {','.join(HEADER)}"
        )
    requests: list[IdentifierRequest] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(HEADER):
            raise MalformedRequests(
                f"{name}: line {line}: {len(row)} fields; expected {len(HEADER)} "
                f"({','.join(HEADER)})"
            )
        try:
            requests.append(make_request(row[0].strip(), row[1].strip().lower(), row[2]))
        except ValueError as error:
            raise MalformedRequests(f"{name}: line {line}: {error}") from error
    if not requests:
        raise MalformedRequests(f"{name}: line 2: no requests after the header")
    return requests


def read_requests_file(path: Path) -> list[IdentifierRequest]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise MalformedRequests(f"{path}: not UTF-8 ({error})") from error
    return parse_requests_text(text, str(path))
