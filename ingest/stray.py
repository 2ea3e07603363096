"""Files delivered for a business date that no feed takes, told in the audit instead of lost.

Ingest reads ``<landing>/<feed>/<YYYYMMDD>/<file>`` for the feeds of the contract and nothing
else, so a file anywhere else for the date used to be skipped without a word: under a folder
that is not a feed (``contact/`` for ``contacts/``), in a date folder not named ``YYYYMMDD``
(``2026-10-01/``), in a folder inside a delivery folder, beside the date folders with the
date in its name (``contacts/contacts_20261001.csv``), under a date folder at the landing
root (``20261001/contacts/``: the date first), or at the landing root itself with the date in
its name (``contacts_20261001.csv``). Each such file is reported every
time its date is ingested, and recorded once in the ingest audit (status ``refused``, with
what to do) under the folder it was found in (``ingest.pipeline.record_stray_files``).
Nothing of it is read, so nothing is lost: the file stays where it is until someone moves it.

Not reported: folders whose names start with ``_`` or ``.`` (the place for what upstream
keeps beside its deliveries), control files (they go with their data file), and a file
starting with ``_`` or ``.`` without a control file (a temporary file, as in
``ingest.landing.scan_feed``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from ingest import store
from ingest.landing import CONTROL_SUFFIX

RULES = (
    "not_a_feed",
    "date_folder_name",
    "nested_folder",
    "no_date_folder",
    "date_first",
    "landing_root",
)
ROOT_FOLDER = "landing_root"  # the ``folder`` of a file found at the landing root itself


@dataclass(frozen=True)
class StrayFile:
    """A file delivered for a date that no feed takes."""

    folder: str  # the landing root's folder it was found in (a feed's name or not), or ROOT_FOLDER
    name: str  # below ``<folder>/<YYYYMMDD>/`` (``sub/x.csv`` nested), else below ``<folder>/``
    path: Path
    source: str  # relative to the landing root, POSIX
    rule: str  # one of RULES
    message: str

    @property
    def report(self) -> str:
        """What the run's log, the audit and a missing delivery's message say of it."""
        return f"{self.source}: not read ({self.rule}): {self.message}"


def stray_files(
    landing_root: Path, business_date: dt.date, feeds: Collection[str]
) -> list[StrayFile]:
    """Every file under ``landing_root`` delivered for ``business_date`` that no feed of
    ``feeds`` takes, in path order."""
    day = f"{business_date:%Y%m%d}"
    root = Path(landing_root)
    if not root.is_dir():
        return []
    dated = (day, f"{business_date:%Y-%m-%d}")
    found: list[StrayFile] = []
    for top in sorted(root.iterdir()):
        if top.is_file():
            if any(d in top.name for d in dated) and _taken(top, root):
                advice = (
                    "a file at the landing root is not read: deliver it with its .ok under "
                    f"{_feed_named(top.name, feeds)}/{day}/"
                )
                found.append(_one(root, root, top, "landing_root", advice))
            continue
        if not top.is_dir() or store.is_hidden(top.name):
            continue
        if re.sub(r"\D", "", top.name) == day:  # <date>/<feed>/ instead of <feed>/<date>/
            for path in _files(top):
                feed = _feed_named(path.relative_to(top).parts[0], feeds)
                advice = (
                    f"the landing is <feed>/YYYYMMDD/, not YYYYMMDD/<feed>/: deliver under "
                    f"{feed}/{day}/"
                )
                found.append(_one(root, top, path, "date_first", advice))
            continue
        known = top.name in feeds
        feed = top.name if known else "<feed>"
        for folder in sorted(top.iterdir()):
            if folder.is_file() and any(d in folder.name for d in dated) and _taken(folder, top):
                advice = (
                    f"a file in {top.name}/ outside a date folder is not read: deliver it "
                    f"with its .ok under {feed}/{day}/"
                )
                found.append(_one(root, top, folder, "no_date_folder", advice))
            if not folder.is_dir() or store.is_hidden(folder.name):
                continue
            if folder.name == day and not known:
                advice = _not_a_feed(top.name, feeds, day)
                found += _stray(root, folder, folder, "not_a_feed", advice)
            elif folder.name == day:
                for inner in sorted(p for p in folder.iterdir() if p.is_dir()):
                    if not store.is_hidden(inner.name):
                        advice = (
                            f"a folder inside the delivery folder {top.name}/{day}/ is not read: "
                            "deliver the file and its .ok directly in the delivery folder"
                        )
                        found += _stray(root, folder, inner, "nested_folder", advice)
            elif re.sub(r"\D", "", folder.name) == day:
                advice = (
                    f"the date folder {top.name}/{folder.name}/ is not named YYYYMMDD: "
                    f"deliver under {feed}/{day}/"
                )
                found += _stray(root, top, folder, "date_folder_name", advice)
    return found


def _not_a_feed(name: str, feeds: Collection[str], day: str) -> str:
    close = difflib.get_close_matches(name, list(feeds), n=1, cutoff=0.6)
    meant = f" (did you mean {close[0]}?)" if close else ""
    return (
        f"{name} is not a feed of the landing contract{meant}: deliver under <feed>/{day}/, or "
        f"move the folder out of the landing root (or name it _{name} to have it ignored)"
    )


def _feed_named(name: str, feeds: Collection[str]) -> str:
    """The feed whose name a file or folder name starts with (the longest), else ``<feed>``."""
    named = [feed for feed in feeds if name.startswith(feed)]
    return max(named, key=len) if named else "<feed>"


def _files(under: Path) -> list[Path]:
    """The files delivered at any depth ``under`` a folder, in path order."""
    return [p for p in sorted(under.rglob("*")) if p.is_file() and _taken(p, under)]


def _stray(root: Path, base: Path, under: Path, rule: str, advice: str) -> list[StrayFile]:
    """The files delivered at any depth ``under`` a folder, named relative to ``base``."""
    return [_one(root, base, path, rule, advice) for path in _files(under)]


def _one(root: Path, base: Path, path: Path, rule: str, advice: str) -> StrayFile:
    """``path`` named relative to ``base``, found in the landing root's folder ``base`` lies
    in (ROOT_FOLDER when ``base`` is the landing root)."""
    top = base.relative_to(root).parts[0] if base != root else ROOT_FOLDER
    relative = path.relative_to(root).as_posix()
    return StrayFile(top, path.relative_to(base).as_posix(), path, relative, rule, advice)


def _taken(path: Path, folder: Path) -> bool:
    """Whether a file below ``folder`` would be a delivery in a delivery folder: not a
    control file, and not a name starting with ``_`` or ``.`` (its own or a folder's below
    ``folder``) without its control file."""
    if path.name.endswith(CONTROL_SUFFIX):
        return False
    hidden = any(store.is_hidden(part) for part in path.relative_to(folder).parts)
    return not hidden or path.with_name(path.name + CONTROL_SUFFIX).is_file()
