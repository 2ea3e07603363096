"""Ingest must stream: a GBK file larger than the memory left to it still loads.

The child process first ingests a small file of the same feed (so polars' thread pool, the
great-expectations context and the Parquet writer exist), then caps its own address space
(``RLIMIT_AS``) at what it uses now plus less than the size of the big file. Under that cap
reading the file whole (``read_text``: bytes plus a str of every character) fails with
MemoryError, which the child proves first; a streaming or chunked ingest of the same file
must still load every record into the raw layer.

Run it with ``.venv/bin/pytest bench/check_memory_safety.py``. It is kept out of the test
suite's pass/fail on purpose, as a benchmark-style check: today ingest reads a delimited file
whole (polars read_csv, then rules and the GX batch on the full frame), so this check FAILS
with "Cannot allocate memory" (issue 10, item 4, open). It moves into tests/ when ingest
processes large files in chunks.
"""

from __future__ import annotations

import datetime as dt
import json
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
BIG_ROWS = 1_250_000  # about 100 MB of GBK text
CHUNK = 250_000
REFERENCE_FEEDS = ("institutions", "products", "relationship_managers", "clients")

CHILD = r"""
import datetime as dt, json, resource, sys
from pathlib import Path
from clientmart.settings import Settings
from ingest.pipeline import ingest_feed

home, landing, big = (Path(a) for a in sys.argv[1:4])
budget = int(sys.argv[4])
settings = Settings(
    home=home, landing_root=landing, raw_root=home / "raw",
    quarantine_root=home / "quarantine", pseudonym_key_file=home / "key",
)

def vm_size():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024

warm = ingest_feed(settings, "deposit_balances", dt.date.fromisoformat(sys.argv[6]))
assert warm.ok, [f.message for f in warm.files]
limit = vm_size() + budget
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    text = big.read_text(encoding="gbk")
    whole_read_failed = False
    del text
except MemoryError:
    whole_read_failed = True
result = ingest_feed(settings, "deposit_balances", dt.date.fromisoformat(sys.argv[5]))
print(json.dumps({
    "whole_read_failed": whole_read_failed,
    "ok": result.ok,
    "files": [(f.status, f.encoding, f.records_kept, f.message) for f in result.files],
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
def bank(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    root = tmp_path_factory.mktemp("memory")
    landing = root / "landing"
    generate_bank(landing, clients=50, start=DAY, end=WARM_UP, seed=3)
    home = root / "home"
    # explicit roots: other tests of the session may have exported CLIENTMART_* for dbt
    settings = Settings(
        home=home,
        landing_root=landing,
        raw_root=home / "raw",
        quarantine_root=home / "quarantine",
        pseudonym_key_file=home / "key",
    )
    for feed in REFERENCE_FEEDS:
        assert ingest_feed(settings, feed, DAY).ok
    clients = pl.read_parquet(settings.raw / "clients" / "*" / "*.parquet")["client_id"]
    insts = pl.read_parquet(settings.raw / "institutions" / "*" / "*.parquet")["inst_code"]
    ids, codes = sorted(set(clients.drop_nulls())), sorted(set(insts.drop_nulls()))
    write_gbk_balances(
        landing / "deposit_balances" / f"{WARM_UP:%Y%m%d}", WARM_UP, ids, codes, 2_000
    )
    big = write_gbk_balances(
        landing / "deposit_balances" / f"{DAY:%Y%m%d}", DAY, ids, codes, BIG_ROWS
    )
    return settings, big


def test_gbk_file_larger_than_the_memory_limit_is_ingested(bank: tuple[Settings, Path]) -> None:
    settings, big = bank
    budget = int(big.stat().st_size * 0.9)  # less memory than the file takes on disk
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(settings.home),
            str(settings.landing),
            str(big),
            str(budget),
            DAY.isoformat(),
            WARM_UP.isoformat(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (
        f"ingest under a {budget / 2**20:.0f} MiB address-space budget died "
        f"(exit {done.returncode}): {done.stderr[-2000:]}"
    )
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["whole_read_failed"], "the limit must be too small to read the file whole"
    assert outcome["ok"], outcome["files"]
    [(status, encoding, kept, _message)] = outcome["files"]
    assert status == "loaded"
    assert encoding in ("gbk", "gb18030")
    assert kept == BIG_ROWS
    written = pl.scan_parquet(settings.raw / "deposit_balances" / "*" / "*.parquet")
    assert written.select(pl.len()).collect().item() == BIG_ROWS + 2_000
