"""Which feeds and files keep a business date from running, in words an operator can act on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ingest.landing import DeliveryStatus, feed_dates, feed_folder, scan_date
from ingest.spec import load_feeds
from ingest.store import is_hidden
from ingest.stray import stray_files


class MissingDeliveryError(Exception):
    """A business date cannot run: required or reference feeds are not (completely) delivered."""

    def __init__(self, status: DeliveryStatus, landing_root: Path) -> None:
        self.status = status
        super().__init__(describe_missing(status, landing_root))


def describe_missing(status: DeliveryStatus, landing_root: Path) -> str:
    """One message naming every missing feed, with the pending files of each (data without .ok)."""
    date = status.business_date
    lines = [f"business date {date.isoformat()} cannot run: deliveries are missing"]
    for feed in status.missing_required:
        folder = feed_folder(landing_root, feed, date)
        pending = status.feeds[feed].pending if feed in status.feeds else []
        if pending:
            files = ", ".join(f"{folder / name} (no {name}.ok control file)" for name in pending)
            lines.append(f"- required feed {feed}: incomplete: {files}")
        else:
            lines.append(f"- required feed {feed}: no file in {folder}")
    for feed in status.missing_reference:
        lines.append(
            f"- reference feed {feed}: never delivered on or before {date.isoformat()} "
            f"(expected under {landing_root / feed}/YYYYMMDD/)"
        )
    # files for the date where no feed looks: often the missing delivery, misplaced
    for stray in stray_files(landing_root, date, load_feeds()):
        lines.append(f"- {stray.report}")
    return "\n".join(lines)


def check_delivery(landing_root: Path, date: dt.date) -> DeliveryStatus:
    """The date's delivery status; raises MissingDeliveryError when it cannot run."""
    status = scan_date(landing_root, date)
    if not status.is_complete:
        raise MissingDeliveryError(status, landing_root)
    return status


def landed_dates(landing_root: Path) -> list[dt.date]:
    """Every business date that has a delivery folder in any feed, in date order."""
    if not Path(landing_root).is_dir():
        return []
    feeds = [p.name for p in Path(landing_root).iterdir() if p.is_dir() and not is_hidden(p.name)]
    return sorted({d for feed in feeds for d in feed_dates(landing_root, feed)})


def landed_months(landing_root: Path, feeds: frozenset[str]) -> list[dt.date]:
    """First days of every month holding a delivery folder of one of ``feeds``, in order."""
    return sorted({d.replace(day=1) for feed in feeds for d in feed_dates(landing_root, feed)})
