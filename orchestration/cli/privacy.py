"""`customer360 privacy erase | verify-erasure | access`: the data subject's rights.

    customer360 privacy erase --request REQ-1 --email ann@example.com
    customer360 privacy erase --file landing/privacy/erasure_requests.csv
    customer360 privacy verify-erasure --request REQ-1 --email ann@example.com
    customer360 privacy access --request REQ-2 --loyalty-id L000123 --out req2.json

Identifiers are normalised before matching (case, Gmail dots, +tags, phone formats). The
HMAC key comes from CUSTOMER360_PRIVACY_KEY (required when CUSTOMER360_ENV=production).
"""

import uuid
from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.common import (
    WarehouseOption,
    console,
    existing_warehouse,
    fail,
    open_warehouse,
    settings_for,
)
from orchestration.settings import PrivacyKeyError

app = typer.Typer(
    help="Privacy: erase a person, prove it, export what is held about them.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

RequestOption = Annotated[
    str | None, typer.Option("--request", help="request id (the ticket of the request)")
]
FileOption = Annotated[
    Path | None,
    typer.Option("--file", help="requests CSV: request_id,identifier_type,identifier"),
]


def _identifier_options(
    email: list[str] | None,
    phone: list[str] | None,
    loyalty_id: list[str] | None,
    crm_id: list[str] | None,
    customer_key: list[str] | None,
) -> list[tuple[str, str]]:
    given = {
        "email": email,
        "phone": phone,
        "loyalty_id": loyalty_id,
        "crm_id": crm_id,
        "customer_key": customer_key,
    }
    return [(kind, v) for kind, values in given.items() for v in values or []]


def _requests(request: str | None, file: Path | None, identifiers: list[tuple[str, str]]):
    from python_models.privacy.requests import MalformedRequests, make_request, read_requests_file

    if file is not None:
        if identifiers:
            fail("give either --file or identifiers, not both")
        try:
            return read_requests_file(file)
        except (MalformedRequests, OSError) as error:
            fail(str(error))
    if not identifiers:
        fail("name the person: --email, --phone, --loyalty-id, --crm-id or --customer-key")
    if not request:
        fail("--request is required with identifiers (it names the request in the audit log)")
    try:
        return [make_request(request, kind, value) for kind, value in identifiers]
    except ValueError as error:
        fail(str(error))
    return []


def _key(settings) -> bytes:
    try:
        return settings.privacy_key()
    except PrivacyKeyError as error:
        fail(str(error))
    return b""


Email = Annotated[list[str] | None, typer.Option("--email", help="email (repeatable)")]
Phone = Annotated[list[str] | None, typer.Option("--phone", help="phone (repeatable)")]
Loyalty = Annotated[list[str] | None, typer.Option("--loyalty-id", help="loyalty card id")]
Crm = Annotated[list[str] | None, typer.Option("--crm-id", help="CRM contact id")]
Key = Annotated[list[str] | None, typer.Option("--customer-key", help="customer key")]


@app.command()
def erase(
    warehouse: WarehouseOption = None,
    request: RequestOption = None,
    file: FileOption = None,
    email: Email = None,
    phone: Phone = None,
    loyalty_id: Loyalty = None,
    crm_id: Crm = None,
    customer_key: Key = None,
) -> None:
    """Erase everyone the request names from every layer, tombstone them, audit it.

    Exits 0 when every request matched someone, 3 when one matched no one (audited).

    Example: [bold]customer360 privacy erase --request REQ-1 --email ann@example.com[/]
    """
    from python_models.privacy.erasure import erase as erase_requests

    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    requests = _requests(
        request, file, _identifier_options(email, phone, loyalty_id, crm_id, customer_key)
    )
    key = _key(settings)
    with open_warehouse(settings) as con:
        results = erase_requests(con, requests, key=key, run_id=f"cli-{uuid.uuid4().hex[:12]}")
    for result in results:
        console.print(result.describe(), soft_wrap=True, markup=False)
    raise typer.Exit(3 if any(r.outcome == "no_match" for r in results) else 0)


@app.command("verify-erasure")
def verify_erasure(
    warehouse: WarehouseOption = None,
    request: RequestOption = None,
    file: FileOption = None,
    email: Email = None,
    phone: Phone = None,
    loyalty_id: Loyalty = None,
    crm_id: Crm = None,
    customer_key: Key = None,
) -> None:
    """Scan every text column of every table for the identifiers; exit 1 on any trace.

    Example: [bold]customer360 privacy verify-erasure --request REQ-1 --email ann@example.com[/]
    """
    from python_models.privacy.verify import verify_erasure as verify

    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    requests = _requests(
        request, file, _identifier_options(email, phone, loyalty_id, crm_id, customer_key)
    )
    key = _key(settings)
    with open_warehouse(settings, read_only=True) as con:
        report = verify(con, requests, key=key)
    console.print(report.describe(), soft_wrap=True, markup=False)
    raise typer.Exit(0 if report.clean else 1)


@app.command()
def access(
    warehouse: WarehouseOption = None,
    request: RequestOption = None,
    email: Email = None,
    phone: Phone = None,
    loyalty_id: Loyalty = None,
    crm_id: Crm = None,
    customer_key: Key = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="JSON file to write \\[default: stdout]")
    ] = None,
) -> None:
    """Export everything held about a person as JSON (GDPR art. 15).

    Example: [bold]customer360 privacy access --request REQ-2 --loyalty-id L1 --out req2.json[/]
    """
    from python_models.privacy.access import access_report, to_json

    settings = settings_for(warehouse=warehouse)
    existing_warehouse(settings)
    requests = _requests(
        request, None, _identifier_options(email, phone, loyalty_id, crm_id, customer_key)
    )
    with open_warehouse(settings) as con:
        documents = access_report(con, requests, run_id=f"cli-{uuid.uuid4().hex[:12]}")
    (document,) = documents.values()
    text = to_json(document)
    if out is None:
        print(text)
    else:
        temporary = out.with_name(f".{out.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(out)
        console.print(f"wrote {out}: {sum(len(r) for r in document['tables'].values())} rows")
    if not document["customer_keys"] and not document["tables"]:
        raise typer.Exit(3)
