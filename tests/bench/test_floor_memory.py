"""The floor's peak memory is its own, not that of the benchmark that started it."""

from __future__ import annotations

import subprocess
import sys

from clientmart.settings import PROJECT_ROOT

PEAK = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from floor import peak_rss_mb; print(peak_rss_mb())"
)


def test_a_floor_started_by_a_large_process_reports_its_own_peak() -> None:
    held = b"\x01" * (700 << 20)  # the benchmark holds a night's memory when it starts the floor
    done = subprocess.run(
        [sys.executable, "-c", PEAK, str(PROJECT_ROOT / "bench")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(held) == 700 << 20
    assert 20 < int(done.stdout) < 500  # polars imported; not the 700 MB held here
