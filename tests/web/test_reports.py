"""The chain's reports in the console, in a real browser: two kiosks of two stores feed the hub through its apply
path, then a person logs in, opens sales by store (both stores, totals checked by hand), narrows it to one store,
sees the chart load and downloads the CSV."""
from __future__ import annotations

import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from mqtt.hub.apply import Batch
from mqtt.hub.store import HubStore
from mqtt.hub.web.accounts import Accounts
from mqtt.hub.web.app import COOKIE
from tests.conftest import _console_script, terminate
from tests.hub.chain import NET, two_stores
from tests.mqtt.broker import free_port
from tests.web.conftest import VIEWER, _wait_ready
from tests.web.test_console import go, rows

FROM, TO = "2026-11-01", "2026-11-30"  # the chain's events are of 2026-11-18


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`memberkiosk hub web` (no broker: nothing to push) on a hub that applied two stores' kiosks; its URL."""
    root = tmp_path_factory.mktemp("reports")
    data_dir = root / "hub"
    db_url = f"sqlite:///{data_dir}/hub.sqlite"
    with HubStore.open(db_url) as hub:
        for events in two_stores(root).values():
            hub.apply([Batch(events[0].kiosk_id, events)])
        Accounts(hub.db).add(VIEWER[0], "viewer", VIEWER[1])
    port, log = free_port(), root / "web.log"
    with log.open("w") as out:
        proc = subprocess.Popen([_console_script(), "hub", "web", "--port", str(port)],
                                env={**os.environ, "MEMBERKIOSK_DATA_DIR": str(data_dir)}, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, log)
        yield url
    finally:
        terminate(proc)


def show(driver: WebDriver, store: str) -> None:
    """Fill the report's filters (dates set as the date picker would) and submit them."""
    for field, value in (("from", FROM), ("to", TO)):
        driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.ID, field), value)
    Select(driver.find_element(By.ID, "store")).select_by_value(store)
    go(driver, By.ID, "show")


def by_store(driver: WebDriver) -> dict[str, tuple[str, str, str]]:
    """Store -> (sales, refunds, net) as the table shows them."""
    return {r[0]: (r[1], r[2], r[-1]) for r in rows(driver, "report")}


def test_sales_by_store_chain_wide_then_one_store(console: str, browser: WebDriver, shots: Path) -> None:
    browser.get(f"{console}/reports")
    assert browser.current_url == f"{console}/login?next=/reports"  # reports need a login like every page
    browser.find_element(By.ID, "name").send_keys(VIEWER[0])
    browser.find_element(By.ID, "password").send_keys(VIEWER[1])
    go(browser, By.ID, "login")
    assert browser.current_url == f"{console}/reports"
    go(browser, By.ID, "report-sales")

    show(browser, "")
    assert by_store(browser) == {"s1": ("2", "1", "¥27.80"), "s2": ("1", "0", "¥38.40")}
    assert NET == {"s1": 2780, "s2": 3840}  # the figures above, by hand from the catalog's prices
    totals = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#totals th")]
    assert totals[0] == "合计 Total" and totals[-1] == "¥66.20"
    chart = browser.find_element(By.ID, "chart")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", chart) > 0
    browser.save_screenshot(str(shots / "reports-sales-by-store.png"))

    show(browser, "s1")
    assert by_store(browser) == {"s1": ("2", "1", "¥27.80")}
    assert browser.find_element(By.ID, "scope").text.startswith("s1, 2026-11-01..2026-11-30")
    assert browser.execute_script("return arguments[0].naturalWidth", browser.find_element(By.ID, "chart")) > 0

    link = browser.find_element(By.ID, "csv").get_attribute("href")
    cookie = {"Cookie": f"{COOKIE}={browser.get_cookie(COOKIE)['value']}"}
    with urllib.request.urlopen(urllib.request.Request(link, headers=cookie), timeout=10) as response:
        assert response.headers["content-disposition"] == 'attachment; filename="sales-store-s1-2026-11-01-2026-11-30.csv"'
        lines = response.read().decode("utf-8-sig").splitlines()
    assert lines == ["store,sales,refunds,items,gross,discount,net", "s1,2,1,3,27.80,0.00,27.80"]
    chart_url = link.replace("report.csv", "chart.png")
    with urllib.request.urlopen(urllib.request.Request(chart_url, headers=cookie), timeout=10) as response:
        assert response.headers["content-type"] == "image/png"
        assert response.headers["cache-control"] == "private, max-age=300" and response.headers["etag"]
    with urllib.request.urlopen(chart_url, timeout=10) as response:  # without the session: the login page
        assert response.url.startswith(f"{console}/login?next=") and "image" not in response.headers["content-type"]
