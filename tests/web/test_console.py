"""The head-office console in a real browser: login, the fleet table and its filters, a kiosk's page, the reconcile
list, an operator's signed push reaching the broker, a viewer who cannot push, and forms without their CSRF token.

The tests run in order on one browser session (each leaves the browser where the next one starts).
"""
from __future__ import annotations

import queue
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from mqtt.connection import Connection, Inbound
from mqtt.fleet import protocol, signing
from mqtt.hub.web.app import COOKIE
from tests.mqtt.broker import Mosquitto
from tests.web.conftest import OPERATOR, PASSPHRASE, VIEWER, Console

RULES = Path(__file__).resolve().parents[2] / "kiosk" / "demo" / "rules.toml"


def text(driver: WebDriver, css: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, css).text


def rows(driver: WebDriver, table: str) -> list[list[str]]:
    """The cells of a table's body rows."""
    return [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")]


def _gone(element: WebElement) -> bool:
    """Whether the element's page was replaced. Chromedriver says so with a stale-element error or, while the new
    document is being built, with "Node with given id does not belong to the document" (a plain WebDriverException)."""
    try:
        element.is_enabled()
        return False
    except WebDriverException:  # StaleElementReferenceException is one
        return True


def go(driver: WebDriver, by: str, value: str) -> None:
    """Click what navigates (a link, a submit button) and wait until the next page has loaded."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(by, value).click()
    WebDriverWait(driver, 10).until(lambda d: _gone(page))
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def log_in(driver: WebDriver, console: Console, name: str, password: str) -> None:
    driver.get(f"{console.url}/")
    assert driver.current_url == f"{console.url}/login?next=/"  # every page asks for a login first
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    go(driver, By.ID, "login")


def post(console: Console, path: str, driver: WebDriver, fields: dict[str, str]) -> tuple[int, str]:
    """POST a form with the browser's session cookie but from outside its pages, as a forger would."""
    request = urllib.request.Request(f"{console.url}{path}", data=urllib.parse.urlencode(fields).encode(),
                                     headers={"Cookie": f"{COOKIE}={driver.get_cookie(COOKIE)['value']}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_a_wrong_password_is_refused(browser: WebDriver, console: Console, shots: Path) -> None:
    browser.get(f"{console.url}/reconcile")
    browser.save_screenshot(str(shots / "01-login.png"))
    log_in(browser, console, OPERATOR[0], "not-the-password")
    assert text(browser, "#error") == "Wrong name or password."
    assert browser.current_url == f"{console.url}/login"
    assert browser.find_element(By.ID, "name").get_attribute("value") == OPERATOR[0]
    browser.save_screenshot(str(shots / "02-login-refused.png"))
    browser.get(f"{console.url}/")
    assert browser.current_url.startswith(f"{console.url}/login")  # still nobody logged in


def test_an_operator_sees_the_fleet_and_filters_it(browser: WebDriver, console: Console, shots: Path) -> None:
    log_in(browser, console, *OPERATOR)
    assert browser.current_url == f"{console.url}/"
    assert text(browser, "#who") == "alice (operator)"
    assert text(browser, "#summary") == "2 of 3 kiosks online."
    table = rows(browser, "fleet")
    assert [(r[0], r[1], r[2]) for r in table] == [("shop1", "shop1-k1", "online"), ("shop1", "shop1-k2", "offline"),
                                                  ("shop2", "shop2-k1", "online")]
    assert "printer: paper_out" in table[2][7] and table[0][8] == "3.3 GiB" and table[0][5] == "3"
    browser.save_screenshot(str(shots / "03-fleet.png"))
    Select(browser.find_element(By.ID, "store")).select_by_value("shop1")
    go(browser, By.ID, "filter")
    assert [r[1] for r in rows(browser, "fleet")] == ["shop1-k1", "shop1-k2"]
    Select(browser.find_element(By.ID, "state")).select_by_value("offline")
    go(browser, By.ID, "filter")
    assert browser.current_url == f"{console.url}/?store=shop1&state=offline"
    assert [r[1] for r in rows(browser, "fleet")] == ["shop1-k2"]
    assert text(browser, "#summary") == "2 of 3 kiosks online; 1 shown."
    browser.save_screenshot(str(shots / "04-fleet-filtered.png"))
    Select(browser.find_element(By.ID, "store")).select_by_value("shop2")
    go(browser, By.ID, "filter")
    assert "No kiosk matches these filters." in text(browser, "#fleet")


def test_a_kiosk_page_shows_its_health_history_and_outcomes(browser: WebDriver, console: Console,
                                                           shots: Path) -> None:
    browser.get(f"{console.url}/")
    go(browser, By.LINK_TEXT, "shop1-k1")
    assert browser.current_url == f"{console.url}/kiosks/shop1-k1"
    assert text(browser, "#kiosk-state") == "online"
    history = rows(browser, "history")
    assert len(history) == 5 and [h[1] for h in history] == ["150 s", "120 s", "90 s", "60 s", "30 s"]  # newest first
    assert "51.5 °C" in text(browser, "#facts")
    assert text(browser, "#update").startswith("0.2.0 rolled back")  # the updater's last outcome, from telemetry
    assert [(r[1], r[3], r[4]) for r in rows(browser, "configs")] == [
        ("prices", "refused", "stale: version 5 is not newer than 7"), ("rules", "applied", "")]
    assert [(r[1], r[3]) for r in rows(browser, "commands")] == [("lock", "done")]
    browser.save_screenshot(str(shots / "05-kiosk.png"))
    browser.get(f"{console.url}/kiosks/nobody")
    assert "never heard of kiosk nobody" in text(browser, "#error")


def test_the_reconcile_list(browser: WebDriver, console: Console, shots: Path) -> None:
    browser.get(f"{console.url}/")
    go(browser, By.LINK_TEXT, "Reconcile")
    assert [(r[2], r[3], r[4], r[5]) for r in rows(browser, "reconcile")] == [("k2", "m1", "stored_value", "¥80.00")]
    browser.save_screenshot(str(shots / "06-reconcile.png"))


def test_an_operator_pushes_a_signed_config(browser: WebDriver, console: Console, broker: Mosquitto,
                                            shots: Path) -> None:
    browser.get(f"{console.url}/")
    go(browser, By.ID, "nav-push")

    def fill(passphrase: str) -> None:
        browser.find_element(By.ID, "file").send_keys(str(RULES))
        Select(browser.find_element(By.ID, "kind")).select_by_value("rules")
        target = browser.find_element(By.ID, "target")
        target.clear()
        target.send_keys("store:shop1")
        browser.find_element(By.ID, "passphrase").send_keys(passphrase)
        go(browser, By.ID, "push")

    fill("not the passphrase")
    assert "wrong passphrase" in text(browser, "#error")
    browser.save_screenshot(str(shots / "07-push-wrong-passphrase.png"))
    fill(PASSPHRASE)
    assert "rules version" in text(browser, "#pushed") and "store:shop1" in text(browser, "#pushed")
    browser.save_screenshot(str(shots / "08-pushed.png"))

    got: queue.Queue[Inbound] = queue.Queue()
    kiosk = Connection(broker.settings("shop1-k2"))  # a kiosk of that store, connecting after the push
    kiosk.connect(5)
    try:
        kiosk.subscribe(protocol.config_topic(protocol.Target("store", "shop1"), "rules"), got.put)
        message = got.get(timeout=5)
    finally:
        kiosk.close()
    assert message.retain
    payload = signing.verify(message.payload, signing.load_public(console.key_dir))
    assert payload["body"] == RULES.read_text(encoding="utf-8")
    assert (payload["kind"], payload["format"], payload["target"]) == ("rules", "toml", "store:shop1")


def test_a_post_without_the_csrf_token_is_refused(browser: WebDriver, console: Console) -> None:
    browser.get(f"{console.url}/push")
    token = browser.find_element(By.NAME, "csrf").get_attribute("value")
    fields = {"kind": "rules", "target": "all", "passphrase": PASSPHRASE}
    status, page = post(console, "/push", browser, fields)
    assert status == 403 and "did not come from this console" in page
    assert post(console, "/push", browser, {**fields, "csrf": token[::-1]})[0] == 403
    assert post(console, "/logout", browser, {})[0] == 403
    browser.get(f"{console.url}/")
    assert text(browser, "#who") == "alice (operator)"  # the forged logout did nothing


def test_a_viewer_cannot_push(browser: WebDriver, console: Console, shots: Path) -> None:
    browser.get(f"{console.url}/")
    go(browser, By.ID, "logout")
    assert browser.current_url == f"{console.url}/login"
    log_in(browser, console, *VIEWER)
    assert text(browser, "#who") == "bob (viewer)"
    assert not browser.find_elements(By.ID, "nav-push")  # no link to the form
    browser.get(f"{console.url}/push")
    assert not browser.find_elements(By.ID, "push-form")
    assert "Only an operator" in text(browser, "#error")
    browser.save_screenshot(str(shots / "09-viewer-cannot-push.png"))
    token = browser.find_element(By.NAME, "csrf").get_attribute("value")  # the logout form's: a valid token
    status, page = post(console, "/push", browser, {"csrf": token, "kind": "rules", "target": "all",
                                                    "passphrase": PASSPHRASE})
    assert status == 403 and "Only an operator" in page
