"""The benchmark's CPU measure: the cores a process tree keeps busy, children included."""

from __future__ import annotations

import subprocess
import sys
import time

SPIN = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass"


def test_a_child_that_spins_counts_as_about_one_core(rb) -> None:
    """A child busy on one core for a second shows about one core in the sampler's window,
    while it runs and after it was reaped; an idle window shows about none."""
    with rb.MemorySampler(interval=0.05) as sampler:
        idle0 = time.time()
        time.sleep(0.6)
        idle1 = time.time()
        t0 = time.time()
        subprocess.run([sys.executable, "-c", SPIN.format(seconds=1.0)], check=True)
        time.sleep(0.2)  # the child is reaped: its time is now in this process's cutime
        t1 = time.time()
    busy = sampler.cores(t0, t1)
    assert busy is not None and 0.3 < busy <= 1.3, busy
    assert sampler.cores(idle0, idle1) < 0.2
    assert sampler.cores(t1 + 10, t1 + 20) is None  # no samples in the window


def _night(rb, seconds: float, dbt_cores: float | None) -> dict:
    stages = {name: rb._stage(seconds / len(rb.STAGES), 1000, 10**6, 2**30) for name in rb.STAGES}
    stages["dbt_build"]["cores"] = dbt_cores
    stages["publish"]["cores"] = 1.5
    return {
        "start": "2026-10-16",
        "seconds": seconds,
        "input_rows": 1000,
        "input_mb": 1.0,
        "peak_rss_mb": 1024,
        "cores": 1.8,
        "stages": stages,
    }


def test_the_report_prints_the_cores_and_their_median_in_the_dbt_step(rb) -> None:
    floor = {
        "total_s": 4.0,
        "read_decode_s": 1.0,
        "raw_write_s": 0.5,
        "accumulate_s": 1.5,
        "aggregate_s": 0.2,
        "peak_rss_mb": 900,
    }
    report = {
        "clients": 1000,
        "nightly": [_night(rb, 70.0, 1.9), _night(rb, 80.0, None), _night(rb, 75.0, 1.7)],
        "floor": [floor] * 3,
        "plain_read": {"mb_per_s": 100.0},
    }
    report["summary"] = rb.summarise(report)
    assert report["summary"]["dbt_build_cores_median"] == 1.9  # of the two measured
    printed = rb.table(report).splitlines()
    dbt = next(line for line in printed if line.startswith("dbt_build"))
    publish = next(line for line in printed if line.startswith("publish "))
    read = next(line for line in printed if line.startswith("read_decode"))
    assert dbt.endswith("1.70") and publish.endswith("1.50")  # the last night's
    assert not read.rstrip().endswith(("1.50", "1.70"))  # no cores measured for it
    assert "dbt_build_cores_median: 1.9" in printed
