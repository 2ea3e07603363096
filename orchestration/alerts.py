"""Pipeline alerts: a log line, a JSON file in the alerts folder, and an optional webhook.

Why files: the embedded default has no mail server or pager; a JSON file per alert is what
an operator (or a log shipper) can pick up, and the same payload goes to a webhook when one
is configured (``CLIENTMART_ALERT_WEBHOOK_URL``). See docs/runbook.md for what each kind means.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import urllib.request
import uuid
from pathlib import Path
from typing import Any

log = logging.getLogger("clientmart.alerts")

KINDS = ("run_failure", "missing_delivery", "waiting_for_earlier_date", "unread_delivery")


def write_alert(
    alerts_dir: Path,
    kind: str,
    message: str,
    *,
    business_date: str | None = None,
    details: dict[str, Any] | None = None,
    webhook_url: str | None = None,
) -> Path:
    """Record one alert; returns the JSON file written. A failing webhook is logged, not raised."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}; one of {KINDS}")
    raised_at = dt.datetime.now(dt.UTC)
    payload = {
        "kind": kind,
        "business_date": business_date,
        "message": message,
        "raised_at": raised_at.isoformat(),
        "details": details or {},
    }
    alerts_dir = Path(alerts_dir)
    alerts_dir.mkdir(parents=True, exist_ok=True)
    stamp = raised_at.strftime("%Y%m%dT%H%M%S")
    path = alerts_dir / f"{stamp}_{kind}_{business_date or 'none'}_{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), "utf-8")
    log.error("ALERT %s date=%s: %s (%s)", kind, business_date, message, path)
    if webhook_url:
        try:
            request = urllib.request.Request(
                webhook_url,
                data=json.dumps(payload, default=str).encode("utf-8"),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10):
                pass
        # unreachable or refused (OSError), a URL urllib cannot send to (ValueError, or
        # http.client's InvalidURL), a broken answer (HTTPException)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            log.error("alert webhook %s failed: %s", webhook_url, exc)
    return path


def read_alerts(alerts_dir: Path) -> list[dict[str, Any]]:
    """All alerts in the folder, oldest first."""
    return [json.loads(p.read_text("utf-8")) for p in sorted(Path(alerts_dir).glob("*.json"))]
