"""What has landed for a business date: complete files, pending files, missing feeds.

Layout: ``<landing>/<feed>/<YYYYMMDD>/<file>`` with ``<file>.ok``. A data file without its
control file is not yet delivered (pending, not an error). A data file whose name starts with
``_`` or ``.`` is delivered by its control file like any other; without one it is not even
pending (editors' and transfer tools' temporary files). Folders so named are ignored
(generator metadata). What lies elsewhere for a date is found by ``ingest.stray``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from ingest.decode import file_checksum
from ingest.spec import load_feeds
from ingest.store import is_hidden

CONTROL_SUFFIX = ".ok"
CONTROLS_IN_KEY = "-ok-"  # run keys that count the control files (DeliveryStatus.run_key)
_checksums: dict[tuple[str, int, int], str] = {}


@dataclass(frozen=True)
class LandedFile:
    """A complete delivery of one data file (data file and its control file exist)."""

    feed: str
    name: str
    path: Path
    control_path: Path
    checksum: str
    delivered_at: dt.datetime  # the later modification time of data and control file (UTC)
    control_checksum: str = ""


@dataclass(frozen=True)
class FeedDelivery:
    feed: str
    complete: list[LandedFile] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DeliveryStatus:
    """Per feed, what is complete and pending for a date, and what still keeps it from running."""

    business_date: dt.date
    feeds: dict[str, FeedDelivery]
    missing_required: list[str]
    missing_reference: list[str]

    @property
    def is_complete(self) -> bool:
        return not self.missing_required and not self.missing_reference

    def run_key(self, exclude: frozenset[str] = frozenset()) -> str:
        """Changes whenever a complete file or its control file appears or changes: the
        arrival sensor's run key. A corrected ``.ok`` alone (a file refused for its control
        count) is a new delivery. ``exclude``: feeds left out (monthly feeds, which their
        own month run ingests)."""
        return f"{self.business_date:%Y%m%d}{CONTROLS_IN_KEY}{self._digest(exclude, True)}"

    def legacy_run_key(self, exclude: frozenset[str] = frozenset()) -> str:
        """The run key of releases before the control files counted: a date built or
        requested then is not run again for the new key alone (it has no ``-ok-``)."""
        return f"{self.business_date:%Y%m%d}-{self._digest(exclude, False)}"

    def is_known(
        self, known: Collection[str | None], exclude: frozenset[str] = frozenset()
    ) -> bool:
        """Whether this delivery's run key is among ``known`` (keys of runs built or requested),
        or its legacy key is: a date built before the control files counted is not run again
        for the new key alone; a changed file still re-runs it (``month_delivery_known``)."""
        return self.run_key(exclude) in known or self.legacy_run_key(exclude) in known

    def _digest(self, exclude: frozenset[str], controls: bool) -> str:
        items = sorted(
            f"{f.feed}/{f.name}/{f.checksum}" + (f"/{f.control_checksum}" if controls else "")
            for d in self.feeds.values()
            if d.feed not in exclude
            for f in d.complete
        )
        return hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]


def checksum_cached(path: Path) -> str:
    """sha256 of a file, remembered by (path, size, mtime) so a polling sensor hashes once."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _checksums:
        _checksums[key] = file_checksum(path)
    return _checksums[key]


def feed_folder(landing_root: Path, feed: str, business_date: dt.date) -> Path:
    return landing_root / feed / f"{business_date:%Y%m%d}"


def scan_feed(landing_root: Path, feed: str, business_date: dt.date) -> FeedDelivery:
    folder = feed_folder(landing_root, feed, business_date)
    if not folder.is_dir():
        return FeedDelivery(feed)
    complete, pending = [], []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.endswith(CONTROL_SUFFIX):
            continue
        control = path.with_name(path.name + CONTROL_SUFFIX)
        if not control.is_file():
            # a name starting with _ or . (a transfer tool's temporary file, macOS's ._ file)
            # is delivered only by its control file, and is not reported pending without it
            if not is_hidden(path.name):
                pending.append(path.name)
            continue
        mtime = max(path.stat().st_mtime, control.stat().st_mtime)
        complete.append(
            LandedFile(
                feed=feed,
                name=path.name,
                path=path,
                control_path=control,
                checksum=checksum_cached(path),
                delivered_at=dt.datetime.fromtimestamp(mtime, dt.UTC),
                control_checksum=checksum_cached(control),
            )
        )
    return FeedDelivery(feed, complete, pending)


def _ever_delivered(landing_root: Path, feed: str, on_or_before: dt.date) -> bool:
    root = landing_root / feed
    if not root.is_dir():
        return False
    for folder in root.iterdir():
        if not (folder.is_dir() and not is_hidden(folder.name) and folder.name.isdigit()):
            continue
        try:
            day = dt.datetime.strptime(folder.name, "%Y%m%d").date()
        except ValueError:
            continue
        if day <= on_or_before and scan_feed(landing_root, feed, day).complete:
            return True
    return False


def scan_date(landing_root: Path, business_date: dt.date) -> DeliveryStatus:
    """Everything landed for ``business_date`` and what a run still waits for."""
    feeds = load_feeds()
    deliveries = {name: scan_feed(landing_root, name, business_date) for name in feeds}
    missing_required = [
        name
        for name, feed in feeds.items()
        if feed.kind == "required_daily" and not deliveries[name].complete
    ]
    missing_reference = [
        name
        for name, feed in feeds.items()
        if feed.kind == "reference" and not _ever_delivered(landing_root, name, business_date)
    ]
    return DeliveryStatus(business_date, deliveries, missing_required, missing_reference)


def monthly_feeds() -> frozenset[str]:
    """Feeds whose records belong to a month (grain monthly): ingested per month."""
    return frozenset(name for name, feed in load_feeds().items() if feed.grain == "monthly")


def feed_dates(landing_root: Path, feed: str) -> list[dt.date]:
    """Every business date with a delivery folder (``YYYYMMDD``) of ``feed``, in date order."""
    folder = Path(landing_root) / feed
    if not folder.is_dir():
        return []
    dates = []
    for path in folder.iterdir():
        if path.is_dir() and len(path.name) == 8 and path.name.isdigit():
            try:
                dates.append(dt.datetime.strptime(path.name, "%Y%m%d").date())
            except ValueError:
                continue
    return sorted(dates)


def delivery_dates(landing_root: Path, feed: str, month: dt.date) -> list[dt.date]:
    """The delivery folders (business dates) of ``feed`` within ``month``, in date order."""
    return [
        d for d in feed_dates(landing_root, feed) if (d.year, d.month) == (month.year, month.month)
    ]


def month_delivery_key(landing_root: Path, month: dt.date, *, controls: bool = True) -> str | None:
    """Every complete file of the monthly feeds delivered within ``month``, with its checksum
    and its control file's, as one key (the month run's run key); None when none has landed.
    A corrected ``.ok`` alone is a new delivery, as for a date (``DeliveryStatus.run_key``).
    ``controls=False``: the key of releases before the control files counted."""
    items = sorted(
        f"{feed}/{date:%Y%m%d}/{f.name}/{f.checksum}"
        + (f"/{f.control_checksum}" if controls else "")
        for feed in monthly_feeds()
        for date in delivery_dates(landing_root, feed, month)
        for f in scan_feed(landing_root, feed, date).complete
    )
    if not items:
        return None
    digest = hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]
    return f"{month:%Y%m}{CONTROLS_IN_KEY if controls else '-'}{digest}"


def month_delivery_known(
    landing_root: Path, month: dt.date, key: str, known: Collection[str | None]
) -> bool:
    """Whether ``key`` (the month's delivery key now) is among ``known`` (keys of runs built or
    requested), or its key without the control files is: a month ingested before they
    counted is not run again for the new key alone; a changed file still re-runs it."""
    return key in known or month_delivery_key(landing_root, month, controls=False) in known
