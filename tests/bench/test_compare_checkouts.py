"""bench/compare_checkouts.py: the same night on fresh copies of one home, under each checkout."""

from __future__ import annotations

import datetime as dt
import json
import platform
import sys
from pathlib import Path

import duckdb
import pytest

from clientmart.generator.bank import generate_bank
from clientmart.settings import PROJECT_ROOT


def test_checkouts_are_label_and_path_and_means_are_per_label(cc, tmp_path: Path) -> None:
    assert cc.parse_checkouts([f"A={PROJECT_ROOT}"]) == {"A": PROJECT_ROOT.resolve()}
    for bad in ("A", f"={PROJECT_ROOT}", f"A={tmp_path}"):
        with pytest.raises(SystemExit):
            cc.parse_checkouts([bad])
    steps = {"ingest": 1.0, "dbt_step": 6.0, "publish": 2.0}
    runs = [
        {"label": "B", "wall": 10.0, "cpu": 20.0, "dbt_elapsed": 5.0, "nodes": 141, "tests": 73}
        | steps,
        {"label": "A", "wall": 14.0, "cpu": 24.0, "dbt_elapsed": 6.0, "nodes": 177, "tests": 109}
        | steps,
        {"label": "B", "wall": 12.0, "cpu": 22.0, "dbt_elapsed": 7.0, "nodes": 141, "tests": 73}
        | steps
        | {"publish": 3.0},
    ]
    assert cc.summarise(runs) == {
        "B": {"wall": 11.0, "cpu": 21.0, "dbt_elapsed": 6.0, "nodes": 141, "tests": 73}
        | steps
        | {"publish": 2.5},
        "A": {"wall": 14.0, "cpu": 24.0, "dbt_elapsed": 6.0, "nodes": 177, "tests": 109} | steps,
    }


def test_named_nodes_are_reported_and_averaged_and_a_wrong_name_is_refused(cc) -> None:
    ran = [
        {"unique_id": "model.clientmart.int_breakdown_cells", "execution_time": 6.123},
        {"unique_id": "test.clientmart.unique_key_columns_x.1a2b", "execution_time": 0.5},
    ]
    assert cc.node_times(ran, ["int_breakdown_cells"]) == {"node:int_breakdown_cells": 6.12}
    assert cc.node_times(ran, []) == {}
    with pytest.raises(SystemExit, match="no dbt node named int_breakdown_celss"):
        cc.node_times(ran, ["int_breakdown_cells", "int_breakdown_celss"])
    steps = {"ingest": 1.0, "dbt_step": 6.0, "publish": 2.0}
    base = {"wall": 10.0, "cpu": 20.0, "dbt_elapsed": 5.0, "nodes": 141, "tests": 73} | steps
    runs = [
        {"label": "A", **base, "node:m": 4.0},
        {"label": "A", **base, "node:m": 5.0},
    ]
    assert cc.summarise(runs) == {"A": base | {"node:m": 4.5}}


def test_a_checkout_runs_with_its_own_virtual_environment_when_it_has_one(
    cc, tmp_path: Path
) -> None:
    """A worktree with other pinned dependencies (its own ``.venv``) runs on them; a checkout
    without one runs on the Python that runs the comparison."""
    bare, own = tmp_path / "bare", tmp_path / "own"
    python = own / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    bare.mkdir()
    assert cc.checkout_python(bare) == sys.executable
    assert cc.checkout_python(own) == str(python)


def test_a_copy_of_a_home_keeps_the_exports_link(cc, tmp_path: Path) -> None:
    """The serving folder's ``exports`` is a link to the current publication's exports; a
    copy that followed it would make the night's publish export every mart whole."""
    serving = tmp_path / "home" / "serving"
    (serving / "exports.d" / "p1" / "mart_a").mkdir(parents=True)
    (serving / "exports.d" / "p1" / "mart_a" / "mart_a.parquet").write_bytes(b"PAR1")
    (serving / "exports").symlink_to(Path("exports.d") / "p1", target_is_directory=True)
    copy = tmp_path / "home_compare"
    (copy / "stale").mkdir(parents=True)
    cc.copy_home(tmp_path / "home", copy)
    link = copy / "serving" / "exports"
    assert link.is_symlink() and link.resolve() == (copy / "serving" / "exports.d" / "p1")
    assert (link / "mart_a" / "mart_a.parquet").read_bytes() == b"PAR1"
    assert not (copy / "stale").exists()


def test_a_night_that_parsed_the_whole_project_is_told_apart(cc, tmp_path: Path) -> None:
    def line(name: str, ts: str) -> str:
        return json.dumps({"info": {"name": name, "ts": ts, "msg": "..."}})

    (tmp_path / "dbt.log.1").write_text(
        line("UnableToPartialParse", "2026-12-05T21:54:23.1Z") + "\n", encoding="utf-8"
    )
    (tmp_path / "dbt.log").write_text(
        line("PartialParsingEnabled", "2026-12-05T21:56:00.0Z") + "\n", encoding="utf-8"
    )
    assert cc.night_parse(tmp_path, "2026-12-05T21:54:00+00:00") == "full"
    assert cc.night_parse(tmp_path, "2026-12-05T21:55:00+00:00") == "partial"


def test_each_run_has_a_fresh_copy_of_the_home_and_leaves_the_home_as_it_was(
    cc, rb, tmp_path: Path, capsys
) -> None:
    """Two runs of one night under this checkout (as A and B): both run the whole night on
    a copy made from the same home, parse the project before the timer (dbt's partial parse
    in the night), and the home is untouched."""
    from orchestration.build import build_definitions
    from orchestration.runner import dagster_instance, execute

    first, night = dt.date(2026, 11, 2), dt.date(2026, 11, 3)
    landing, key = tmp_path / "landing", tmp_path / "pseudonym.key"
    generate_bank(landing, clients=60, start=first, end=night, seed=3)
    home = tmp_path / "home"
    settings = rb.isolated_settings(home, landing, key)
    defs, instance = build_definitions(settings), dagster_instance(settings)
    assert execute(settings, defs, instance, first, first).success
    before = {path: path.stat().st_mtime_ns for path in home.rglob("*") if path.is_file()}

    out = tmp_path / "compare.json"
    cc.main(
        ["--home", str(home), "--landing", str(landing), "--key", str(key),
         "--date", night.isoformat(), "--checkout", f"A={PROJECT_ROOT}",
         "--checkout", f"B={PROJECT_ROOT}", "--order", "AB", "--out", str(out),
         "--node", "int_breakdown_cells"]
    )  # fmt: skip

    report = json.loads(out.read_text())
    assert [run["label"] for run in report["runs"]] == ["A", "B"]
    for run in report["runs"]:
        assert run["wall"] > 0 and run["cpu"] > 0 and run["dbt_elapsed"] > 0
        assert run["tests"] > 0 and run["nodes"] > run["tests"]
        assert run["parse"] == "partial"
        assert run["duckdb"] == duckdb.__version__
        assert run["python"] == f"{platform.python_version()} ({sys.base_prefix})"
        assert 0 < run["ingest"] + run["dbt_step"] + run["publish"] <= run["wall"]
        assert min(run["ingest"], run["dbt_step"], run["publish"]) > 0
        assert 0 < run["node:int_breakdown_cells"] < run["dbt_elapsed"]
    assert report["runs"][0]["nodes"] == report["runs"][1]["nodes"]
    assert set(report["means"]) == {"A", "B"}
    assert report["means"]["A"]["node:int_breakdown_cells"] > 0
    printed = capsys.readouterr().out
    assert f"mean A ({PROJECT_ROOT.resolve()})" in printed and "mean B" in printed
    after = {path: path.stat().st_mtime_ns for path in home.rglob("*") if path.is_file()}
    assert after == before
    assert not (tmp_path / "home_compare").exists()
