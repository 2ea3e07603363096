"""The floor: the nightly core work for one business date, hand-written, no framework.

What the pipeline must not be much slower than. On the same landing files, for one date:
read and decode every feed (UTF-8, GBK/GB18030, Excel), write a raw Parquet per file, update
the month-to-date accumulations (per account: balance sum, days, last balance, in CNY; per
client: deposit + wealth assets), and compute per institution the month-end and
daily-average deposit balances and the tier counts (head office's thresholds from the tier
seed). No Dagster, dbt, great-expectations or record rules: only polars and the files.

    .venv/bin/python bench/floor.py --landing L --date 2026-10-12 --work W

The state of date D-1 (``W/state/*_<D-1>.parquet``) is read when D is not the 1st, so run
the dates of a month in order. Prints one JSON line with the seconds of each part;
``carried_state`` says whether D-1's state was there (a floor without it, mid-month, starts
the month at D, does less work than a night, and says so on stderr).
"""

from __future__ import annotations

import argparse
import codecs
import csv
import datetime as dt
import json
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

import polars as pl
import yaml

ROOT = Path(__file__).resolve().parent.parent
MONEY = pl.Decimal(20, 2)
RATE = pl.Decimal(28, 10)  # the raw layer keeps a rate's ten decimals (ingest/feeds.yml)


def header_aliases() -> dict[str, dict[str, str]]:
    """feed -> {lower-cased English name or alias: English name}."""
    spec = yaml.safe_load((ROOT / "ingest" / "feeds.yml").read_text(encoding="utf-8"))
    out: dict[str, dict[str, str]] = {}
    for feed, body in spec["feeds"].items():
        names: dict[str, str] = {}
        for col, props in body["columns"].items():
            names[col.lower()] = col
            props = props or {}
            for alias in [*props.get("aliases", []), *props.get("more_aliases", [])]:
                names[str(alias).strip().lower()] = col
        out[feed] = names
    return out


def read_file(path: Path) -> pl.DataFrame:
    """Every value as a string; UTF-8 first, GB18030 (a superset of GBK) when that fails."""
    if path.suffix.lower() == ".xlsx":
        return pl.read_excel(path, infer_schema_length=0)
    with path.open("rb") as fh:
        head = fh.readline()
    sep = "|" if head.count(b"|") > head.count(b",") else ","
    if is_utf8(path):
        return pl.read_csv(path, separator=sep, infer_schema=False)
    return pl.read_csv(path, separator=sep, infer_schema=False, encoding="gb18030")


def is_utf8(path: Path) -> bool:
    """polars replaces bad UTF-8 in headers silently, so check the bytes first (in chunks)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(1 << 22):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def typed(frame: pl.DataFrame, aliases: dict[str, str]) -> pl.DataFrame:
    """English column names; amounts to DECIMAL, dates to Date (the raw layer's types)."""
    frame = frame.rename({c: aliases.get(c.strip().lower(), c) for c in frame.columns})
    exprs = []
    for name in frame.columns:
        if name in ("balance", "amount", "market_value", "cost", "units", "cny_per_unit"):
            clean = pl.col(name).str.replace_all(r"[,\s]", "")
            exprs.append(clean.cast(RATE if name == "cny_per_unit" else MONEY).alias(name))
        elif name.endswith("_date") or name == "as_of_date":
            clean = pl.col(name).str.replace_all(r"[-/]", "")
            exprs.append(clean.str.to_date("%Y%m%d", strict=False).alias(name))
    return frame.with_columns(exprs)


Feeds = dict[str, list[tuple[Path, pl.DataFrame]]]


def read_date(landing: Path, date: dt.date) -> tuple[Feeds, int]:
    aliases = header_aliases()
    feeds: Feeds = {}
    size = 0
    for feed_dir in sorted(p for p in landing.iterdir() if p.is_dir() and p.name in aliases):
        day = feed_dir / f"{date:%Y%m%d}"
        if not day.is_dir():
            continue
        for data in sorted(day.iterdir()):
            if data.suffix == ".ok" or not data.with_name(data.name + ".ok").exists():
                continue
            size += data.stat().st_size
            frame = typed(read_file(data), aliases[feed_dir.name])
            feeds.setdefault(feed_dir.name, []).append((data, frame))
    return feeds, size


def write_raw(feeds: Feeds, work: Path, date: dt.date) -> int:
    written = 0
    for feed, files in feeds.items():
        folder = work / "raw" / feed / f"{date:%Y%m%d}"
        folder.mkdir(parents=True, exist_ok=True)
        for path, frame in files:
            target = folder / f"{path.name}.parquet"
            tmp = target.with_suffix(".tmp")
            frame.write_parquet(tmp)
            tmp.replace(target)
            written += target.stat().st_size
    return written


def one(feeds: Feeds, feed: str) -> pl.DataFrame:
    return pl.concat([f for _p, f in feeds[feed]], how="diagonal_relaxed")


def accumulate(feeds: dict, work: Path, date: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Month-to-date per account and per client, from D-1's state plus the day's rows."""
    rates = one(feeds, "fx_rates").select("currency", "cny_per_unit")
    rates = pl.concat(
        [
            rates,
            pl.DataFrame({"currency": ["CNY"], "cny_per_unit": [Decimal(1)]}, schema=rates.schema),
        ]
    ).unique("currency")
    day = (
        one(feeds, "deposit_balances")
        .join(rates, on="currency", how="left")
        .select(
            "account_id",
            "client_id",
            "inst_code",
            (pl.col("balance") * pl.col("cny_per_unit")).round(2).cast(MONEY).alias("bal"),
        )
    )
    holdings = (
        one(feeds, "wealth_holdings")
        .group_by("client_id")
        .agg(pl.col("market_value").sum().cast(MONEY).alias("wealth"))
    )
    homes = one(feeds, "clients").select("client_id", "inst_code").unique("client_id")
    client_day = (
        day.group_by("client_id")
        .agg(pl.col("bal").sum().cast(MONEY).alias("deposits"))
        .join(holdings, on="client_id", how="full", coalesce=True)
        .join(homes, on="client_id", how="full", coalesce=True)
        .select(
            "client_id",
            "inst_code",
            (pl.col("deposits").fill_null(0) + pl.col("wealth").fill_null(0))
            .cast(MONEY)
            .alias("assets"),
        )
    )
    state = work / "state"
    state.mkdir(parents=True, exist_ok=True)
    prev_day = date - dt.timedelta(days=1)
    accounts, clients = (
        day.with_columns(pl.col("bal").alias("bal_sum"), pl.lit(1).alias("days")),
        client_day.with_columns(pl.col("assets").alias("assets_sum")),
    )
    previous = previous_state(work, date)
    if previous is not None:
        prev_acc = pl.read_parquet(previous)
        accounts = prev_acc.join(
            day, on="account_id", how="full", coalesce=True, suffix="_new"
        ).select(
            "account_id",
            pl.coalesce("client_id_new", "client_id").alias("client_id"),
            pl.coalesce("inst_code_new", "inst_code").alias("inst_code"),
            pl.col("bal_new").fill_null(0).cast(MONEY).alias("bal"),
            (pl.col("bal_sum").fill_null(0) + pl.col("bal_new").fill_null(0))
            .cast(MONEY)
            .alias("bal_sum"),
            (pl.col("days").fill_null(0) + pl.col("bal_new").is_not_null()).alias("days"),
        )
        prev_cli = pl.read_parquet(state / f"clients_{prev_day:%Y%m%d}.parquet")
        clients = prev_cli.join(
            client_day, on="client_id", how="full", coalesce=True, suffix="_new"
        ).select(
            "client_id",
            pl.coalesce("inst_code_new", "inst_code").alias("inst_code"),
            pl.col("assets_new").fill_null(0).cast(MONEY).alias("assets"),
            (pl.col("assets_sum").fill_null(0) + pl.col("assets_new").fill_null(0))
            .cast(MONEY)
            .alias("assets_sum"),
        )
    accounts.write_parquet(state / f"accounts_{date:%Y%m%d}.parquet")
    clients.write_parquet(state / f"clients_{date:%Y%m%d}.parquet")
    return accounts, clients


def aggregate(
    accounts: pl.DataFrame, clients: pl.DataFrame, work: Path, date: dt.date
) -> pl.DataFrame:
    """Per institution: month-end (as of D) and daily-average balances, and tier counts."""
    with (ROOT / "dbt_project" / "seeds" / "tier_rules.csv").open(encoding="utf-8") as fh:
        rules = [r for r in csv.DictReader(fh) if r["rule_set_id"] == "standard"]
    rules.sort(key=lambda r: Decimal(r["min_assets_cny"]), reverse=True)
    tier = pl.lit("mass")
    for rule in reversed(rules):
        tier = (
            pl.when(pl.col("avg") >= float(rule["min_assets_cny"]))
            .then(pl.lit(rule["tier"]))
            .otherwise(tier)
        )
    tiers = (
        clients.with_columns((pl.col("assets_sum") / date.day).alias("avg"))
        .with_columns(tier.alias("tier"))
        .group_by("inst_code", "tier")
        .agg(pl.len().alias("clients"))
        .pivot("tier", index="inst_code", values="clients")
    )
    balances = accounts.group_by("inst_code").agg(
        pl.col("bal").sum().alias("month_end_balance_cny"),
        (pl.col("bal_sum").sum() / date.day).round(2).alias("daily_avg_balance_cny"),
        pl.len().alias("accounts"),
    )
    result = balances.join(tiers, on="inst_code", how="full", coalesce=True).sort("inst_code")
    result.write_parquet(work / "state" / f"institutions_{date:%Y%m%d}.parquet")
    return result


def previous_state(work: Path, date: dt.date) -> Path | None:
    """D-1's account state when D is not the 1st and the state is there, else None."""
    path = work / "state" / f"accounts_{date - dt.timedelta(days=1):%Y%m%d}.parquet"
    return path if date.day > 1 and path.exists() else None


def run(landing: Path, date: dt.date, work: Path) -> dict[str, float | int | bool]:
    carried = previous_state(work, date) is not None
    t0 = time.perf_counter()
    feeds, size = read_date(landing, date)
    t1 = time.perf_counter()
    written = write_raw(feeds, work, date)
    t2 = time.perf_counter()
    accounts, clients = accumulate(feeds, work, date)
    t3 = time.perf_counter()
    institutions = aggregate(accounts, clients, work, date)
    t4 = time.perf_counter()
    rows = sum(f.height for files in feeds.values() for _p, f in files)
    return {
        "date": date.isoformat(),
        "rows": rows,
        "input_mb": round(size / 1e6, 1),
        "raw_mb": round(written / 1e6, 1),
        "read_decode_s": round(t1 - t0, 3),
        "raw_write_s": round(t2 - t1, 3),
        "accumulate_s": round(t3 - t2, 3),
        "aggregate_s": round(t4 - t3, 3),
        "total_s": round(t4 - t0, 3),
        "institutions": institutions.height,
        "carried_state": carried,
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> int:
    """This process's peak resident memory, MB. Linux's ``ru_maxrss`` survives ``exec``: a
    floor started by the benchmark reported the benchmark's own peak (5.3 GB after a 1M
    night, against 1.8 GB run alone). ``VmHWM`` is the peak of this program's memory only."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--work", type=Path, required=True, help="Raw copy and state folder.")
    args = parser.parse_args()
    result = run(args.landing, args.date, args.work)
    if args.date.day > 1 and not result["carried_state"]:
        print(
            f"floor: no state of {args.date - dt.timedelta(days=1)} in {args.work / 'state'}: "
            f"the month-to-date starts at {args.date}, so this floor does less than a night "
            "(run the month's dates in order from the 1st)",
            file=sys.stderr,
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
