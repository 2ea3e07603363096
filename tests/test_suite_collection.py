"""Any subset of the test folders runs in one command, as a data engineer runs the ones a
change touches (README, "Tests").

The test folders are not packages: pytest imports each folder's conftest.py under the one
module name ``conftest``, and a test module that imported from it got the conftest loaded
last, so ``pytest tests/bench tests/rm`` failed to collect tests/bench. What test modules
share lives in modules named for what they hold (tests/rm/rm_build.py, ...), each name once
in the suite.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_test_module_imports_a_conftest() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == "conftest.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            if "conftest" in names:
                offenders.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert not offenders, (
        "test modules import from conftest.py (move the shared code into a module named "
        f"for it): {offenders}"
    )


def test_helper_module_names_are_unique_across_test_folders() -> None:
    helpers = [
        path
        for path in TESTS.glob("*/*.py")
        if path.name != "conftest.py" and not path.name.startswith("test_")
    ]
    twice = [name for name, n in Counter(path.name for path in helpers).items() if n > 1]
    assert not twice, f"helper modules of the same name in two test folders: {twice}"


def test_every_test_folder_collects_in_one_command() -> None:
    # pytest loads the conftest.py of every folder named before it collects any of them, so
    # with the old imports every folder but the last failed.
    folders = sorted(
        path.name for path in TESTS.iterdir() if path.is_dir() and any(path.glob("test_*.py"))
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            *(f"tests/{folder}" for folder in folders),
        ],
        cwd=TESTS.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    lines = done.stdout.splitlines()
    collected = {line.split("/")[1] for line in lines if line.startswith("tests/")}
    assert collected == set(folders), sorted(set(folders) - collected)
