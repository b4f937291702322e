"""A local CRM REST API shaped like HubSpot's contacts API, serving generated contacts.

`GET /crm/v3/objects/contacts?limit=&after=&updated_since=` returns
``{"results": [{"id", "properties": {...}, "updatedAt"}], "paging": {"next": {"after"}}}``
in (updatedAt, id) order; `after` is an opaque cursor, `updated_since` an inclusive
modified-since filter. Every request needs `Authorization: Bearer <token>`; a wrong or
expired token gets 401. Switches (`Faults`) inject what real SaaS APIs do: HTTP 429 with
`Retry-After`, 500s, a connection dropped in the middle of a response, a malformed JSON page,
a record without its id, an expired token. Random faults use a seeded generator, listed ones
hit exact request numbers, so tests are deterministic.

It serves the contacts of a landing folder (`crm/contacts_*.csv`, the same people and ground
truth as the file source), runs in a thread for tests and benchmarks (`CrmApiServer`) or in
the foreground for the demo (`serve`). Tooling only: the pipeline never imports it.
"""

import base64
import bisect
import csv
import random
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CONTACTS_PATH = "/crm/v3/objects/contacts"
PROPERTIES = (
    "first_name", "last_name", "email", "phone", "street", "city", "postcode", "country",
    "birth_date", "created_at", "updated_at",
)  # fmt: skip
MAX_LIMIT = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _parse_time(text: str | None) -> datetime:
    if not text:
        return _EPOCH
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return _EPOCH
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Contact:
    id: str | None
    properties: dict[str, str | None]
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "properties": self.properties,
            "updatedAt": _iso(self.updated_at),
            "archived": False,
        }
        if self.id is not None:
            record = {"id": self.id, **record}
        return record


class ContactStore:
    """The CRM's contacts, kept in (updatedAt, id) order; thread-safe."""

    def __init__(self, contacts: Iterable[Contact]) -> None:
        self._lock = threading.Lock()
        self._by_id = {c.id: c for c in contacts if c.id}
        self._reindex()

    def _reindex(self) -> None:
        self._ordered = sorted(self._by_id.values(), key=lambda c: (c.updated_at, c.id or ""))
        self._keys = [(c.updated_at, c.id or "") for c in self._ordered]

    @classmethod
    def from_landing_dir(cls, landing_dir: Path) -> "ContactStore":
        files = sorted(Path(landing_dir).glob("crm/contacts_*.csv"))
        if not files:
            raise FileNotFoundError(f"no crm/contacts_*.csv under {landing_dir}")
        contacts = []
        for path in files:
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    crm_id = (row.get("crm_id") or "").strip()
                    if not crm_id:
                        continue  # a CRM never serves a contact without its id
                    props = {p: (row.get(p) or None) for p in PROPERTIES}
                    contacts.append(Contact(crm_id, props, _parse_time(row.get("updated_at"))))
        return cls(contacts)

    @classmethod
    def replicated(cls, store: "ContactStore", contacts: int) -> "ContactStore":
        """`contacts` contacts made from `store`'s by copying them under new ids (benchmarks)."""
        originals = list(store._ordered)
        made = [
            Contact(f"{c.id}-{n // len(originals)}", dict(c.properties), c.updated_at)
            for n, c in ((n, originals[n % len(originals)]) for n in range(contacts))
        ]
        return cls(made)

    def __len__(self) -> int:
        return len(self._by_id)

    def snapshot(self) -> dict[str, dict[str, str | None]]:
        """id -> properties of every contact (what the warehouse should end up holding)."""
        with self._lock:
            return {c.id: dict(c.properties) for c in self._ordered if c.id}

    def page(
        self, limit: int, after: tuple[datetime, str] | None, since: datetime | None
    ) -> tuple[list[Contact], tuple[datetime, str] | None]:
        with self._lock:
            start = 0
            if since is not None:
                start = bisect.bisect_left(self._keys, (since, ""))
            if after is not None:
                start = max(start, bisect.bisect_right(self._keys, after))
            chunk = self._ordered[start : start + limit]
            more = start + limit < len(self._ordered)
        last = (chunk[-1].updated_at, chunk[-1].id or "") if chunk and more else None
        return chunk, last

    def change(self, share: float, seed: int = 0, now: datetime | None = None) -> list[str]:
        """Edit a share of the contacts (a new phone, updatedAt = now); returns their ids."""
        now = now or datetime.now(UTC)
        rng = random.Random(seed)
        with self._lock:
            ids = sorted(self._by_id)
            picked = rng.sample(ids, max(1, int(len(ids) * share)))
            for number, crm_id in enumerate(picked):
                contact = self._by_id[crm_id]
                contact.properties = {
                    **contact.properties,
                    "phone": f"+44 7700 9{seed % 10}{number:05d}"[:16],
                    "updated_at": _iso(now),
                }
                contact.updated_at = now
            self._reindex()
        return picked


def encode_after(key: tuple[datetime, str]) -> str:
    raw = f"{_iso(key[0])}|{key[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_after(token: str) -> tuple[datetime, str]:
    padded = token + "=" * (-len(token) % 4)
    text = base64.urlsafe_b64decode(padded.encode()).decode()
    stamp, _, crm_id = text.partition("|")
    return _parse_time(stamp), crm_id


@dataclass
class Faults:
    """Switches for what misbehaving APIs do. Request numbers count from 1 (every request).

    Attributes:
        rate_limited_share / error_share: random shares of requests answered 429 / 500.
        retry_after_seconds: the `Retry-After` a 429 carries.
        rate_limited_requests / error_requests / dropped_requests / malformed_requests:
            exact request numbers answered 429 / 500 / cut mid-body / with broken JSON.
        missing_id_requests: request numbers whose page has one record without its `id`.
        token_expires_after: requests after which the token is expired (401), or None.
        latency_seconds: added to every request (a slow API).
    """

    rate_limited_share: float = 0.0
    error_share: float = 0.0
    retry_after_seconds: int = 1
    rate_limited_requests: set[int] = field(default_factory=set)
    error_requests: set[int] = field(default_factory=set)
    dropped_requests: set[int] = field(default_factory=set)
    malformed_requests: set[int] = field(default_factory=set)
    missing_id_requests: set[int] = field(default_factory=set)
    token_expires_after: int | None = None
    latency_seconds: float = 0.0
    seed: int = 7


@dataclass
class ApiStats:
    requests: int = 0
    rate_limited: int = 0
    errors: int = 0
    dropped: int = 0
    malformed: int = 0
    unauthorized: int = 0
    pages_served: int = 0


def _json_dumps(payload: Any) -> bytes:
    import json

    return json.dumps(payload, separators=(",", ":")).encode()


def build_app(
    store: ContactStore, token: str, faults: Faults | None = None, stats: ApiStats | None = None
) -> Any:
    """The FastAPI app serving `store` behind bearer `token`, with `faults` switched on."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response, StreamingResponse

    faults = faults or Faults()
    stats = stats or ApiStats()
    rng = random.Random(faults.seed)
    lock = threading.Lock()
    app = FastAPI(title="customer360 local CRM API", docs_url=None, redoc_url=None)
    app.state.store, app.state.faults, app.state.stats = store, faults, stats

    @app.get(CONTACTS_PATH)
    def list_contacts(
        request: Request, limit: int = MAX_LIMIT, after: str | None = None,
        updated_since: str | None = None,
    ) -> Response:  # fmt: skip
        with lock:
            stats.requests += 1
            number = stats.requests
            draw_429, draw_500 = rng.random(), rng.random()
        if faults.latency_seconds:
            time.sleep(faults.latency_seconds)
        expired = faults.token_expires_after is not None and number > faults.token_expires_after
        if request.headers.get("authorization") != f"Bearer {token}" or expired:
            stats.unauthorized += 1
            message = "token expired" if expired else "invalid token"
            return JSONResponse({"status": "error", "message": message}, status_code=401)
        if number in faults.rate_limited_requests or draw_429 < faults.rate_limited_share:
            stats.rate_limited += 1
            return JSONResponse(
                {"status": "error", "message": "rate limit exceeded"},
                status_code=429,
                headers={"Retry-After": str(faults.retry_after_seconds)},
            )
        if number in faults.error_requests or draw_500 < faults.error_share:
            stats.errors += 1
            return JSONResponse({"status": "error", "message": "internal error"}, status_code=500)
        try:
            cursor = decode_after(after) if after else None
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"status": "error", "message": "bad after"}, status_code=400)
        since = _parse_time(updated_since) if updated_since else None
        contacts, last = store.page(max(1, min(limit, MAX_LIMIT)), cursor, since)
        results = [c.as_json() for c in contacts]
        if number in faults.missing_id_requests and results:
            results[len(results) // 2].pop("id", None)
        payload: dict[str, Any] = {"results": results}
        if last is not None:
            payload["paging"] = {"next": {"after": encode_after(last)}}
        body = _json_dumps(payload)
        if number in faults.malformed_requests:
            stats.malformed += 1
            return Response(body[: len(body) // 2], media_type="application/json")
        if number in faults.dropped_requests:
            stats.dropped += 1

            def cut_short() -> Iterator[bytes]:
                yield body[: len(body) // 3]
                raise ConnectionAbortedError("fault switch: connection dropped mid-page")

            return StreamingResponse(
                cut_short(),
                media_type="application/json",
                headers={"content-length": str(len(body))},
            )
        stats.pages_served += 1
        return Response(body, media_type="application/json")

    return app


class CrmApiServer:
    """The API on 127.0.0.1 in a background thread (uvicorn), for tests and benchmarks."""

    def __init__(
        self,
        store: ContactStore,
        token: str,
        faults: Faults | None = None,
        port: int | None = None,
    ) -> None:
        from python_models.sample_data.postgres_server import free_port

        self.store, self.token = store, token
        self.faults = faults or Faults()
        self.stats = ApiStats()
        self.port = port or free_port()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "CrmApiServer":
        import uvicorn

        app = build_app(self.store, self.token, self.faults, self.stats)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="critical", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the local CRM API did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> "CrmApiServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(landing_dir: Path, token: str, port: int = 8765, faults: Faults | None = None) -> None:
    """Serve the landing folder's contacts in the foreground until interrupted (the demo)."""
    import uvicorn

    app = build_app(ContactStore.from_landing_dir(landing_dir), token, faults)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info")
