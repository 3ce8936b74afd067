"""A headless Chromium for the report's tests: Debian's chromium driven by selenium
through Debian's chromedriver (no browser or driver is downloaded), with every network
access cut off so a page that reached for one would show it."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def missing() -> str | None:
    """Why no browser test can run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@contextmanager
def chromium(offline: bool = True) -> Iterator[Any]:
    """A headless Chromium; ``offline`` cuts its network off (file:// pages still load,
    and so does loopback only when ``offline`` is False)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="aiperf-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1280,1600", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        if offline:
            driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
                "offline": True, "latency": 0, "downloadThroughput": -1,
                "uploadThroughput": -1})
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_ready(driver: Any, timeout_s: float = 60.0) -> float:
    """Wait until the report has drawn every chart; the seconds it took from navigation
    start, as the page measured it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if driver.execute_script("return !!(window.aiperfReport && window.aiperfReport.ready)"):
            return float(driver.execute_script("return window.aiperfReport.readyMs")) / 1000
        time.sleep(0.05)
    raise TimeoutError(f"the report was not ready after {timeout_s} s")


def console_errors(driver: Any) -> list[str]:
    """The browser console's errors (and CSP violations) so far."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def requests_made(driver: Any) -> list[str]:
    """Every network URL the page asked for (http, https, ws): data:, file: and the
    browser's own chrome:// pages are not the network."""
    import json

    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if url.startswith(("http:", "https:", "ws:", "wss:")):
                urls.append(url)
    return urls
