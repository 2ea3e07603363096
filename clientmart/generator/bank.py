"""Generate a whole sample bank: every feed of the landing contract, one business date at a
time, streamed to files in chunks so memory stays bounded as the bank grows.

Layout written (and nothing else): ``<out>/<feed>/<YYYYMMDD>/<file>`` with ``<file>.ok``, and
``<out>/_generator/`` (parameters, dirty manifest, later re-deliveries), which ingest ignores.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from clientmart.generator import crm, deposits, dirty, payroll, wealth
from clientmart.generator.clients import Clients, build_clients, client_frame, day_changes
from clientmart.generator.formats import FileStyle, choose_style, to_text
from clientmart.generator.institutions import build_reference, fx_frame, rms_left
from clientmart.generator.loans import build_loans, loans_frame
from clientmart.generator.timeline import Timeline, rng
from clientmart.generator.writers import DelimitedWriter, write_xlsx
from ingest.spec import load_feeds

CHUNK_ROWS = 250_000
GENERATOR_DIR = "_generator"
REDELIVERIES = Path(GENERATOR_DIR) / "redeliveries"


@dataclass
class GenerationSummary:
    """What a generation run wrote."""

    out: Path
    clients: int
    accounts: int
    dates: int
    files: int
    records: int
    dirty_records: int
    dirty_files: int
    seconds: float

    def describe(self) -> str:
        return (
            f"Generated a bank of {self.clients:,} clients and {self.accounts:,} deposit "
            f"accounts over {self.dates} dates in {self.out}: {self.files:,} data files, "
            f"{self.records:,} clean records, {self.dirty_records:,} dirty records and "
            f"{self.dirty_files} bad deliveries ({self.seconds:.1f}s)."
        )


class Emitter:
    """Writes feed files in their rotating styles, injecting dirty rows when asked."""

    def __init__(self, out: Path, seed: int, dirty_rate: float, manifest: dirty.Manifest) -> None:
        self.out = out
        self.seed = seed
        self.dirty_rate = dirty_rate
        self.manifest = manifest
        self.feeds = load_feeds()
        self.index = {name: i for i, name in enumerate(self.feeds)}
        self.files = 0
        self.records = 0

    def style(self, feed: str, d: int) -> FileStyle:
        return choose_style(self.index[feed], d, self.seed)

    def delimited(
        self,
        feed_name: str,
        d: int,
        day: dt.date,
        frames: Iterable[pl.DataFrame],
        name: str | None = None,
        style: FileStyle | None = None,
        root: Path | None = None,
        inject: bool = True,
    ) -> Path:
        feed = self.feeds[feed_name]
        style = style or self.style(feed_name, d)
        rel = Path(feed_name) / f"{day:%Y%m%d}" / f"{name or feed_name}{style.extension}"
        writer = DelimitedWriter(
            (root or self.out) / rel, feed, style, extra_value=f"{day:%Y%m%d}01"
        )
        gen = rng(self.seed, "dirty", self.index[feed_name], d)
        serial = 0
        for frame in frames:
            for chunk in frame.iter_slices(CHUNK_ROWS):
                text = to_text(feed, chunk, style)
                writer.write(text)
                self.records += chunk.height if root is None else 0
                if inject and self.dirty_rate > 0:
                    bad, plans = dirty.dirty_rows(
                        gen, feed, text, self.dirty_rate, style, day, serial
                    )
                    line = writer.write(bad)
                    for i, plan in enumerate(plans):
                        self.manifest.record(feed_name, day, rel.as_posix(), line + i, plan)
                    serial += len(plans)
        writer.close()
        self.files += root is None
        return rel

    def payroll_file(self, d: int, day: dt.date, frame: pl.DataFrame, variant: int) -> None:
        feed = self.feeds["payroll"]
        name = f"payroll_{frame['employer_client_id'][0]}_{frame['batch_id'][0]}"
        if variant % 5 == 2:  # the contract puts no rule on names: one starting with _ too
            name = f"_{name}"
        base = self.style("payroll", d + variant)
        if variant % 3 == 0:
            text = to_text(feed, frame, base)
            header_style = "chinese" if variant % 2 else "english"
            header = [c.aliases[0] if header_style == "chinese" else c.name for c in feed.columns]
            rows = text.with_columns((pl.Series(frame["amount"]) / 100).alias("amount"))
            write_xlsx(
                self.out / "payroll" / f"{day:%Y%m%d}" / f"{name}.xlsx", header, rows, {"amount"}
            )
            self.files += 1
            self.records += frame.height
            return
        if variant % 3 == 1:
            base = FileStyle(
                "gbk", "|", ".txt", "chinese", base.date_format, False, False, False, base.salt
            )
        self.delimited("payroll", d, day, [frame], name=name, style=base, inject=False)


def _chunks(frame_fn: Callable[[int, int], pl.DataFrame], total: int) -> Iterator[pl.DataFrame]:
    for lo in range(0, max(total, 1), CHUNK_ROWS):
        yield frame_fn(lo, min(lo + CHUNK_ROWS, total))


PARAMETERS = "parameters.json"
WRITTEN = "written_files.txt"  # every file the generator left in the feed folders


class BankMixError(ValueError):
    """The folder holds deliveries of another bank, or ones the generator did not write."""


def _delivered_files(out: Path) -> set[str]:
    """Every file in ``out`` outside ``_``/``.`` names at its top, relative, POSIX."""
    found = set()
    for top in out.iterdir():
        if top.name.startswith(("_", ".")):
            continue
        paths = top.rglob("*") if top.is_dir() else [top]
        found.update(p.relative_to(out).as_posix() for p in paths if not p.is_dir())
    return found


def _claim(out: Path, parameters: dict[str, object], replace: bool) -> None:
    """Make ``out`` the folder of the bank of ``parameters``, or refuse.

    Two banks in one folder mix: a date holds two files of one feed whose keys collide (the
    period alone changes file names and contents). The same bank again is rewritten in
    place (identical files); another generated bank is removed first with ``replace``, else
    refused. A file the generator did not write (in a folder without its parameters, or
    missing from its list of written files) refuses either way and is never touched:
    ``replace`` removes only the files it listed."""
    if not out.exists():
        return
    present = _delivered_files(out)
    tops = sorted(p.name for p in out.iterdir() if not p.name.startswith(("_", ".")))
    recorded = out / GENERATOR_DIR / PARAMETERS
    if not recorded.exists():
        if tops:
            raise BankMixError(
                f"{out} holds deliveries not written by the generator ({', '.join(tops[:5])}); "
                "generate into an empty folder"
            )
        return
    listing = out / GENERATOR_DIR / WRITTEN
    written = set(listing.read_text(encoding="utf-8").splitlines()) if listing.exists() else None
    foreign = sorted(present - written) if written is not None else []
    if foreign:
        raise BankMixError(
            f"{out} holds deliveries not written by the generator ({', '.join(foreign[:5])}"
            f"{', ...' if len(foreign) > 5 else ''}); move them out, or generate into an "
            "empty folder"
        )
    previous = json.loads(recorded.read_text())
    if previous == parameters:
        return
    if not replace:
        raise BankMixError(
            f"{out} holds another generated bank ({json.dumps(previous, sort_keys=True)}); "
            "generate into an empty folder, or replace that bank (clientmart generate "
            "--replace)"
        )
    if written is None:
        raise BankMixError(
            f"{out} holds a generated bank without its list of written files (generated by "
            "a release before 2026-12-06, or interrupted): remove it by hand, or generate "
            "into an empty folder"
        )
    for relative in present:
        (out / relative).unlink()
    for top in tops:
        folders = sorted((p for p in (out / top).rglob("*") if p.is_dir()), reverse=True)
        for folder in [*folders, out / top]:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    shutil.rmtree(out / GENERATOR_DIR)


def generate_bank(
    out: Path,
    *,
    clients: int,
    start: dt.date,
    end: dt.date,
    seed: int,
    dirty_rate: float = 0.0,
    progress: Callable[[str], None] | None = None,
    on_day: Callable[[dt.date], None] | None = None,
    replace: bool = False,
) -> GenerationSummary:
    """Write a deterministic sample bank of ``clients`` clients for dates start..end.

    Same arguments give byte-identical files. A folder holds one bank: another one (any
    other argument, the period too, changes files and their names) is refused, or with
    ``replace`` written after the previous bank is removed (``_claim``).

    ``on_day(date)`` is called once every file of ``date`` is written, before the next date
    is generated: a caller can ingest a long bank as it is written and remove what it has
    ingested (bench/run_benchmark.py, history).
    ``dirty_rate`` adds that share of bad records (and a few bad payroll deliveries) on top
    of the clean bank, listed in ``<out>/_generator/dirty_manifest.jsonl``; see
    docs/generator.md.
    """
    if clients < 10:
        raise ValueError("clients must be at least 10")
    if not 0 <= dirty_rate < dirty.MAX_DIRTY_SHARE:
        raise ValueError(f"dirty_rate must be in [0, {dirty.MAX_DIRTY_SHARE})")
    began = time.perf_counter()
    say = progress or (lambda _msg: None)
    out = Path(out)
    parameters = {
        "clients": clients,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "seed": seed,
        "dirty_rate": dirty_rate,
    }
    _claim(out, parameters, replace)
    out.mkdir(parents=True, exist_ok=True)
    timeline = Timeline(start, end)
    n_days = timeline.n
    mid = n_days // 2 if n_days >= 3 else -1
    (out / GENERATOR_DIR).mkdir(exist_ok=True)
    (out / GENERATOR_DIR / PARAMETERS).write_text(json.dumps(parameters, sort_keys=True) + "\n")

    say(f"building a bank of {clients:,} clients ...")
    ref = build_reference(seed, clients, n_days)
    rm_ids = ref.rms["rm_id"]
    c = build_clients(seed, clients, ref, timeline)
    accts = deposits.build_accounts(seed, c, ref, timeline)
    hold = wealth.build_holdings(seed, c, ref, n_days)
    loans = build_loans(seed, c, ref, n_days)
    pipe = crm.build_pipeline(seed, c, len(rm_ids), timeline)
    bad_days = dirty.delivery_days(n_days, dirty_rate)

    manifest = dirty.Manifest(out)
    em = Emitter(out, seed, dirty_rate, manifest)
    redeliveries = []
    targets_of_month: dict[dt.date, pl.DataFrame] = {}
    try:
        for d, day in enumerate(timeline.days):
            work = bool(timeline.workdays[d])
            if d == 0:
                em.delimited("institutions", d, day, [ref.inst])
                em.delimited("products", d, day, [ref.products])
                em.delimited("relationship_managers", d, day, [ref.rms])
            elif d == mid:
                em.delimited("institutions", d, day, [ref.inst_changed])
                em.delimited("products", d, day, [ref.products_changed])
                em.delimited("relationship_managers", d, day, [rms_left(ref)])
            em.delimited("fx_rates", d, day, [fx_frame(ref, d, day)])

            who = np.flatnonzero(c.open_day <= 0) if d == 0 else day_changes(c, seed, d, work, ref)
            em.delimited(
                "clients",
                d,
                day,
                _chunks(
                    lambda lo, hi, who=who: client_frame(c, ref, who[lo:hi], start, rm_ids),
                    len(who),
                ),
            )

            flows = deposits.Flows()
            gen = deposits.day_rng(seed, d)
            deposits.special_flows(gen, accts, c, d, day, flows)
            deposits.ordinary_flows(gen, accts, c, d, work, flows)
            if work:
                deposits.settlement_flows(gen, accts, c, d, timeline.workdays_in_month(day), flows)
            pay = payroll.payroll_day(rng(seed, "payroll", d), c, accts, d, day, flows)
            f = deposits.apply_flows(accts, flows)
            em.delimited(
                "deposit_transactions", d, day, [deposits.transaction_frame(accts, c, f, day)]
            )
            em.delimited(
                "deposit_balances",
                d,
                day,
                _chunks(
                    lambda lo, hi, d=d, day=day: deposits.balance_frame(accts, d, day, lo, hi),
                    accts.m,
                ),
            )
            em.delimited("loan_balances", d, day, [loans_frame(loans, seed, d, day)])

            orders, redeliver = wealth.orders_day(
                seed, hold, c, rm_ids, d, day, work, mid >= 0 and d >= mid
            )
            rel = em.delimited("wealth_orders", d, day, [orders])
            if len(redeliver) and d + 2 < n_days:
                corrected = orders.with_columns(
                    pl.when(pl.int_range(pl.len()).is_in(redeliver))
                    .then(pl.lit("cancelled"))
                    .otherwise(pl.col("status"))
                    .alias("status")
                )
                em.delimited(
                    "wealth_orders", d, day, [corrected], root=out / REDELIVERIES, inject=False
                )
                redeliveries.append(
                    {
                        "feed": "wealth_orders",
                        "business_date": day.isoformat(),
                        "file": rel.as_posix(),
                        "orders_cancelled": len(redeliver),
                        "deliver_after": timeline.days[d + 2].isoformat(),
                    }
                )
            em.delimited(
                "wealth_holdings",
                d,
                day,
                _chunks(
                    lambda lo, hi, d=d, day=day: wealth.holdings_frame(hold, c, d, day, lo, hi),
                    len(hold.units),
                ),
            )

            for i, frame in enumerate(pay.frames):
                em.payroll_file(d, day, frame, int(pay.employers[i]) + day.month)

            if timeline.month_first_index(d):
                month = day.replace(day=1)
                targets_of_month[month] = crm.targets_frame(seed, rm_ids, month)
                em.delimited("rm_targets", d, day, [targets_of_month[month]])
            elif day.day == 15 and day.replace(day=1) in targets_of_month:
                month = day.replace(day=1)
                em.delimited(
                    "rm_targets",
                    d,
                    day,
                    [crm.target_corrections(seed, targets_of_month[month], month)],
                )
            em.delimited("pipeline", d, day, [crm.pipeline_frame(pipe, c, rm_ids, start, d)])
            if work:
                em.delimited(
                    "contacts", d, day, [crm.contacts_frame(seed, c, rm_ids, d, day, work)]
                )
            if d in bad_days:
                sample = _bad_payroll_rows(seed, c, accts, d, day)
                dirty.write_bad_delivery(
                    out, em.feeds["payroll"], bad_days[d], day, sample, manifest
                )
            say(f"{day:%Y-%m-%d}: {em.files:,} files, {em.records:,} records so far")
            if on_day is not None:
                on_day(day)
    finally:
        manifest.close()
    (out / GENERATOR_DIR / "redeliveries.jsonl").write_text(
        "".join(json.dumps(r, sort_keys=True) + "\n" for r in redeliveries)
    )
    (out / GENERATOR_DIR / WRITTEN).write_text(
        "".join(f"{name}\n" for name in sorted(_delivered_files(out))), encoding="utf-8"
    )
    return GenerationSummary(
        out,
        clients,
        accts.m,
        n_days,
        em.files,
        em.records,
        manifest.records,
        manifest.deliveries,
        time.perf_counter() - began,
    )


def _bad_payroll_rows(
    seed: int, c: Clients, accts: deposits.Accounts, d: int, day: dt.date
) -> pl.DataFrame:
    """Plausible payroll rows for a bad delivery (text, canonical columns)."""
    gen = rng(seed, "bad_payroll", d)
    ind = np.flatnonzero(~c.is_corp & (c.open_day < 0))
    who = ind[gen.integers(0, len(ind), 5)]
    employer = np.flatnonzero(c.is_corp)[0]
    return pl.DataFrame(
        {
            "employer_client_id": [c.ids[int(employer)]] * 5,
            "batch_id": [f"BX{day:%Y%m%d}"] * 5,
            "account_id": accts.static["account_id"].gather(accts.primary_of_client[who]),
            "employee_name": c.names.gather(who),
            "id_number": c.id_numbers.gather(who),
            "amount": [f"{v:.2f}" for v in gen.uniform(3000, 9000, 5)],
            "pay_date": [day.isoformat()] * 5,
        }
    )


def apply_redeliveries(out: Path, up_to: dt.date) -> list[Path]:
    """Copy the corrected files due on or before ``up_to`` into the landing folders, as the
    upstream system would re-deliver them (same file name, same date). Returns the files."""
    listing = Path(out) / GENERATOR_DIR / "redeliveries.jsonl"
    done = []
    for line in listing.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if dt.date.fromisoformat(entry["deliver_after"]) > up_to:
            continue
        src = Path(out) / REDELIVERIES / entry["file"]
        dst = Path(out) / entry["file"]
        dst.write_bytes(src.read_bytes())
        ok = src.with_name(src.name + ".ok")
        dst.with_name(dst.name + ".ok").write_bytes(ok.read_bytes())
        done.append(dst)
    return done
