"""Ingest streams: its memory does not grow with the file, GBK files included.

Two GBK ``deposit_balances`` files of the same shape, one four times the other, are ingested
each in a fresh child process with pieces of ``CHUNK_MB`` (CLIENTMART_INGEST_CHUNK_MB), and
the big one once more in a single piece (read whole). Each child measures its peak resident
memory (``VmHWM``) before and after ingest. Reading a file whole costs about ten times its
size (bytes, decoded text, the frame, the pandas batch for the suite); in pieces the big file
must cost at most half of that, and each extra MB of file less than two MB of memory (what
remains per record: a 64-bit key hash for the duplicate-key rule across pieces, and
allocator growth). Every record must still land in the raw layer, and a key repeated many
pieces later is still a duplicate, on its true line.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from clientmart.generator.bank import generate_bank
from clientmart.settings import Settings
from ingest.pipeline import ingest_feed

DAY = dt.date(2026, 10, 1)
WARM_UP = dt.date(2026, 10, 2)
SMALL_ROWS = 150_000  # about 12 MB of GBK text
BIG_ROWS = 600_000  # about 46 MB
CHUNK = 250_000  # rows per write while generating
CHUNK_MB = 1  # ingest's piece size in the children (CLIENTMART_INGEST_CHUNK_MB)
REFERENCE_FEEDS = ("institutions", "products", "relationship_managers", "clients")

CHILD = r"""
import datetime as dt, json, sys
from pathlib import Path
from clientmart.settings import Settings
from ingest.pipeline import ingest_feed

home, landing = (Path(a) for a in sys.argv[1:3])
settings = Settings(
    home=home, landing_root=landing, raw_root=home / "raw",
    quarantine_root=home / "quarantine", pseudonym_key_file=home / "key",
    ingest_chunk_mb=float(sys.argv[5]),
)

def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

warm = ingest_feed(settings, "deposit_balances", dt.date.fromisoformat(sys.argv[4]))
assert warm.ok, [f.message for f in warm.files]
before = peak()
result = ingest_feed(settings, "deposit_balances", dt.date.fromisoformat(sys.argv[3]))
print(json.dumps({
    "growth": peak() - before,
    "ok": result.ok,
    "files": [(f.status, f.encoding, f.records_kept, f.records_quarantined, f.quarantine_rules)
              for f in result.files],
}))
"""


def write_gbk_balances(
    folder: Path, day: dt.date, clients: list[str], insts: list[str], rows: int
) -> Path:
    """A GBK deposit_balances file with Chinese headers and a Chinese extra column, in chunks."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    path = folder / "deposit_balances.txt"
    client_ids, inst_codes = pl.Series(clients), pl.Series(insts)
    with path.open("wb") as fh:
        for start in range(0, rows, CHUNK):
            i = pl.int_range(start, min(start + CHUNK, rows), eager=True)
            n = i.len()
            part = pl.DataFrame(
                {
                    "余额日期": pl.repeat(f"{day:%Y%m%d}", n, eager=True),
                    "账号": "62" + i.cast(pl.String).str.zfill(14),
                    "客户号": client_ids.gather(i % client_ids.len()),
                    "开户机构": inst_codes.gather(i % inst_codes.len()),
                    "产品代码": pl.repeat("DD_CNY", n, eager=True),
                    "币种": pl.repeat("CNY", n, eager=True),
                    "余额": ((i * 7919) % 10_000_000).cast(pl.String) + ".25",
                    "备注": pl.repeat("活期存款余额", n, eager=True),
                }
            )
            fh.write(part.write_csv(separator="|", include_header=start == 0).encode("gbk"))
    path.with_name(path.name + ".ok").write_text(str(rows))
    return path


@pytest.fixture(scope="module")
def reference_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], list[str]]:
    """Reference data ingested once; clients and institutions to write balances for."""
    root = tmp_path_factory.mktemp("memory")
    landing = root / "landing"
    generate_bank(landing, clients=50, start=DAY, end=DAY, seed=3)
    home = root / "home"
    settings = _settings(home, landing)
    for feed in REFERENCE_FEEDS:
        assert ingest_feed(settings, feed, DAY).ok
    clients = pl.read_parquet(settings.raw / "clients" / "*" / "*.parquet")["client_id"]
    insts = pl.read_parquet(settings.raw / "institutions" / "*" / "*.parquet")["inst_code"]
    return home, sorted(set(clients.drop_nulls())), sorted(set(insts.drop_nulls()))


def _settings(home: Path, landing: Path) -> Settings:
    # explicit roots: other tests of the session may have exported CLIENTMART_* variables
    return Settings(
        home=home,
        landing_root=landing,
        raw_root=home / "raw",
        quarantine_root=home / "quarantine",
        pseudonym_key_file=home / "key",
    )


def _ingest_in_child(
    reference: tuple[Path, list[str], list[str]], rows: int, name: str, chunk_mb: float = 0
):
    """A copy of the reference home, a GBK file of ``rows`` records plus one duplicate key at
    its end, ingested in a fresh process after a small warm-up file; the child's report."""
    template, clients, insts = reference
    root = template.parent / name
    home, landing = root / "home", root / "landing"
    shutil.copytree(template, home)
    write_gbk_balances(
        landing / "deposit_balances" / f"{WARM_UP:%Y%m%d}", WARM_UP, clients, insts, 2_000
    )
    big = write_gbk_balances(
        landing / "deposit_balances" / f"{DAY:%Y%m%d}", DAY, clients, insts, rows
    )
    first = big.read_bytes()[:400].decode("gbk").splitlines()[1]  # the first record
    with big.open("ab") as fh:  # the same account again, many pieces later
        fh.write((first.replace(".25", ".75") + "\n").encode("gbk"))
    big.with_name(big.name + ".ok").write_text(str(rows + 1))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(home),
            str(landing),
            DAY.isoformat(),
            WARM_UP.isoformat(),
            str(chunk_mb or CHUNK_MB),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report, big.stat().st_size, _settings(home, landing)


def test_ingest_memory_does_not_follow_the_file(reference_home) -> None:
    small, small_size, _ = _ingest_in_child(reference_home, SMALL_ROWS, "small")
    big, big_size, settings = _ingest_in_child(reference_home, BIG_ROWS, "big")
    whole, _, _ = _ingest_in_child(reference_home, BIG_ROWS, "whole", chunk_mb=big_size / 2**19)
    mib = 2**20
    print(
        f"peak RSS growth in pieces of {CHUNK_MB} MB: {small['growth'] / mib:.0f} MiB for "
        f"{small_size / mib:.0f} MB, {big['growth'] / mib:.0f} MiB for {big_size / mib:.0f} MB; "
        f"read whole: {whole['growth'] / mib:.0f} MiB"
    )
    for report, rows in ((small, SMALL_ROWS), (big, BIG_ROWS), (whole, BIG_ROWS)):
        assert report["ok"], report["files"]
        [(status, encoding, kept, quarantined, rules)] = report["files"]
        assert (status, encoding) == ("loaded", "gb18030")
        assert (kept, quarantined, rules) == (rows, 1, {"duplicate_key": 1})
    # the limit: half of what reading the same file whole costs
    assert big["growth"] <= whole["growth"] / 2, (big, whole)
    # and each extra MB of file costs less than two MB (a whole read costs about ten)
    assert big["growth"] - small["growth"] <= 2 * (big_size - small_size), (big, small)
    written = pl.scan_parquet(settings.raw / "deposit_balances" / "*" / "*.parquet")
    assert written.select(pl.len()).collect().item() == BIG_ROWS + 2_000
    line = pl.read_parquet(settings.quarantine / "deposit_balances" / "*" / "*.parquet")
    assert line["_source_line"].to_list() == [BIG_ROWS + 2]
