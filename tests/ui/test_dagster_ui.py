"""Browser test of the Dagster UI: the project's own webserver serves the asset graph, and
headless Chromium (Debian's, installed by scripts/install_chromium.sh) loads the UI and finds
the project's assets, their documentation and their groups on the page.

The webserver is started here on a free port against the real definitions
(``orchestration.definitions``) with a throwaway instance and home, exactly as
``clientmart ui`` starts it, and stopped afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CLIENTMART_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CLIENTMART_CHROMEDRIVER", "/usr/bin/chromedriver")
# Loading the definitions parses the dbt project; on a loaded 2-core machine that takes a while.
STARTUP_TIMEOUT_S = 300
PAGE_TIMEOUT_S = 120

ASSET_NODES_QUERY = "{ assetNodes { assetKey { path } groupName } }"
MART_DESCRIPTION_QUERY = (
    '{ assetNodes(assetKeys: [{path: ["mart_client_breakdown"]}]) { description } }'
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("ui_home")
    dagster_home = home / "dagster"
    dagster_home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "CLIENTMART_HOME": str(home),
        "CLIENTMART_LANDING_ROOT": str(home / "landing"),
    }
    log = (home / "webserver.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-m",
            "orchestration.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"webserver exited with {process.returncode}: "
                    + (home / "webserver.log").read_text()[-3000:]
                )
            try:
                nodes = _graphql(base, ASSET_NODES_QUERY)["data"]["assetNodes"]
                if nodes:
                    break
            except (OSError, KeyError, TypeError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no asset graph served within {STARTUP_TIMEOUT_S} s: "
                    + (home / "webserver.log").read_text()[-3000:]
                )
            time.sleep(2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: run scripts/install_chromium.sh "
            "(make test does) or set CLIENTMART_CHROMIUM / CLIENTMART_CHROMEDRIVER"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1600,1200",
        "--no-first-run",
        "--disable-quic",
        # closed network: no background calls home, no component updates, no sync
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium_profile')}",
    ):
        options.add_argument(argument)
    # An explicit driver path: Selenium Manager would otherwise try to download one.
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def _page_shows(driver: webdriver.Chrome, url: str, texts: list[str], shot: Path) -> None:
    """Load ``url`` and wait until the page shows every one of ``texts``.

    The UI renders in stages (the header first, then data fetched over GraphQL), so every
    text a test checks is waited for here; a text that never appears fails with the page's
    text and a screenshot, not with whatever stage the page had reached.
    """
    driver.get(url)
    try:
        WebDriverWait(driver, PAGE_TIMEOUT_S).until(
            lambda d: all(text in d.find_element("tag name", "body").text for text in texts)
        )
    except TimeoutException:
        body = driver.find_element("tag name", "body").text
        missing = [text for text in texts if text not in body]
        pytest.fail(f"{url} did not show {missing} within {PAGE_TIMEOUT_S} s (see {shot}):\n{body}")
    finally:
        driver.save_screenshot(str(shot))


def test_webserver_serves_the_project_asset_graph(webserver: str) -> None:
    nodes = _graphql(webserver, ASSET_NODES_QUERY)["data"]["assetNodes"]
    keys = {"/".join(node["assetKey"]["path"]) for node in nodes}
    groups = {node["groupName"] for node in nodes}
    assert {
        "mart_client_breakdown",
        "mart_client_tier",
        "mart_rm_attainment",
        "serving_publication",
    } <= keys, sorted(keys)
    assert {"raw", "staging", "intermediate", "marts", "serving"} <= groups


def test_chromium_finds_the_assets_in_the_catalog(
    webserver: str, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    # an asset of the project, and the project's code location
    _page_shows(
        browser,
        f"{webserver}/assets",
        ["attainment_status_rules", "orchestration.definitions"],
        tmp_path / "catalog.png",
    )


def test_chromium_opens_a_mart_with_its_documentation(
    webserver: str, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    # The page shows the asset's name before its description has loaded, so wait for the
    # description itself: its first line as the webserver serves it, markdown marks removed.
    served = _graphql(webserver, MART_DESCRIPTION_QUERY)["data"]["assetNodes"][0]["description"]
    first_line = served.strip().splitlines()[0].replace("*", "").replace("`", "").strip()
    assert "institution" in first_line.lower(), served  # the dbt docs block, not a default
    # and a later line of it, so the whole description is rendered, not only its first line
    _page_shows(
        browser,
        f"{webserver}/assets/mart_client_breakdown",
        ["mart_client_breakdown", first_line, "multidimensional client breakdown"],
        tmp_path / "mart.png",
    )


def test_chromium_shows_the_lineage_groups(
    webserver: str, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    _page_shows(
        browser,
        f"{webserver}/asset-groups",
        ["Global asset lineage", "raw", "staging", "intermediate", "marts", "serving"],
        tmp_path / "lineage.png",
    )
