"""Headless Chromium for the report and dashboard tests (Debian's chromium + chromium-driver).

Tests look at pages the way a person would: what is drawn, how big, what
the axes say, and whether the console shows an error. Each view is also
saved as a PNG under ``$COMET_OPTIMIZE_SCREENSHOTS`` (default: a folder in
pytest's temporary directory, printed at the end of the run).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

import pytest

CHROMIUM = ("chromium", "chromium-browser")
DRIVER = ("chromedriver", "chromium-driver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--enable-unsafe-swiftshader",  # WebGL (parcoords, big scatters) in software
         "--window-size=1300,1000", "--hide-scrollbars")
# Chromium's own notes about software WebGL are warnings about the machine, not the page.
_HARMLESS = ("GPU stall due to ReadPixels", "fallback to software WebGL")


def _which(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable(reason: str) -> None:
    """Skip where the browser is not installed; fail in CI, where .ci/run installs it."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def start_browser() -> Any:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is missing: pip install -e '.[test,report]'")
    binary, driver = _which(CHROMIUM), _which(DRIVER)
    if binary is None or driver is None:
        unavailable("Chromium is missing: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-profile-')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def console_errors(browser: Any) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser")
            if entry["level"] == "SEVERE"
            and not any(text in entry["message"] for text in _HARMLESS)]


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll a condition of the page (the page changes on its own; there is no event to await)."""
    from selenium.common.exceptions import TimeoutException

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except TimeoutException:  # the page's thread is busy drawing: not yet
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def screenshot_dir(tmp_path_factory) -> str:
    folder = os.environ.get("COMET_OPTIMIZE_SCREENSHOTS") or str(
        tmp_path_factory.getbasetemp() / "screenshots")
    os.makedirs(folder, exist_ok=True)
    return folder


def shoot(browser: Any, element_id: str, path: str) -> None:
    """A PNG of one element, scrolled into view (what a person would look at)."""
    from selenium.webdriver.common.by import By

    element = browser.find_element(By.ID, element_id)
    browser.execute_script("arguments[0].scrollIntoView()", element)
    element.screenshot(path)
    assert os.path.getsize(path) > 1000, f"{path} looks empty"


def plot_size(browser: Any, element_id: str) -> tuple[float, float]:
    return tuple(browser.execute_script(
        "var r = document.getElementById(arguments[0]).getBoundingClientRect();"
        "return [r.width, r.height];", element_id))
