"""Send a data-quality alert to the configured hook (`CUSTOMER360_ALERT_HOOK`).

`log` writes a WARNING to the `customer360.quality` logger; `file:/path` appends one JSON line
per alert; `http(s)://…` POSTs the JSON to a webhook (5 s timeout). A hook that fails to deliver
is logged and never masks the failure being reported.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger("customer360.quality")


def alert_payload(title: str, message: str, details: dict[str, Any] | None = None) -> dict:
    return {
        "title": title,
        "message": message,
        "details": details or {},
        "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def send_alert(hook: str, title: str, message: str, details: dict[str, Any] | None = None) -> dict:
    """Deliver one alert; returns the payload sent."""
    payload = alert_payload(title, message, details)
    body = json.dumps(payload, default=str)
    try:
        if hook == "log" or not hook:
            logger.warning("%s\n%s", title, message)
        elif hook.startswith("file:"):
            path = Path(hook.removeprefix("file:"))
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write(body + "\n")
        elif hook.startswith(("https://", "http://")):
            request = urllib.request.Request(
                hook,
                data=body.encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                response.read()
        else:
            raise ValueError(
                f"CUSTOMER360_ALERT_HOOK={hook!r}: use 'log', 'file:/path' or an http(s) URL"
            )
    except ValueError:
        raise
    except Exception as error:  # delivery problems must not hide the data problem
        logger.error("alert hook %s failed (%s); alert was: %s\n%s", hook, error, title, message)
    return payload


def run_failure_alert(
    job_name: str, run_id: str, failed_steps: list[tuple[str, str]], run_message: str = ""
) -> tuple[str, str, dict[str, Any]]:
    """(title, message, details) of the alert for a failed run: which steps failed and why.

    `failed_steps` holds (step key, error message) pairs; each message is cut to its first
    line so an alert stays readable in a chat channel.
    """
    title = f"customer360: run of {job_name} failed"
    lines = [f"Run {run_id} of job {job_name} failed."]
    for step, error in failed_steps:
        first_line = (error.strip().splitlines() or ["(no message)"])[0]
        lines.append(f"- step {step}: {first_line[:300]}")
    if not failed_steps and run_message:
        lines.append(run_message.strip().splitlines()[0][:300])
    lines.append("Open the run in the Dagster UI for the full log; fix the cause, then re-run it.")
    details = {"job": job_name, "run_id": run_id, "failed_steps": [s for s, _ in failed_steps]}
    return title, "\n".join(lines), details
