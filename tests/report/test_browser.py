"""The report page in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, which ``.ci/run`` installs) driven by selenium.

On the default study's report (the end-to-end fixture) it checks what a reader meets:
no console errors or warnings, every image decodes, no request leaves ``file://``, no
page-level horizontal overflow on a 390 px phone. Screenshots at 1366 and 390 px go to
``$SEGSWEEP_ARTIFACTS`` (default ``test-artifacts/`` in the repo). Skips where Chromium
or its driver is missing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO

webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = pytest.mark.skipif(
    not (shutil.which("chromedriver") and (shutil.which("chromium") or shutil.which("chromium-browser"))),
    reason="Debian's chromium and chromium-driver are not installed",
)

ARTIFACTS = Path(os.environ.get("SEGSWEEP_ARTIFACTS", REPO / "test-artifacts"))
WIDTHS = (1366, 390)  # a laptop and a phone, CSS pixels


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--allow-file-access-from-files",
    ):
        opts.add_argument(arg)
    opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    # the browser log (console) and the performance log (every network request)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    yield driver
    driver.quit()


def _load(driver, page: Path, width: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    driver.get(page.resolve().as_uri())
    # lazy images load only near the viewport: ask for all of them, then wait for each
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const imgs = Array.from(document.images);
        imgs.forEach(i => { i.loading = 'eager'; });
        Promise.all(imgs.map(i => i.decode().catch(() => null))).then(() => done(true));""")


def page_problems(driver, page: Path, shots: Path | None = None) -> list[str]:
    """Everything a reader would hit on ``page`` at each width in ``WIDTHS``: console
    messages at warning level or above, images that do not decode, requests to anything
    but ``file://``, and page-level horizontal overflow. Saves full-page screenshots in
    ``shots`` when given."""
    problems = []
    driver.get_log("browser"), driver.get_log("performance")  # start clean
    for width in WIDTHS:
        _load(driver, page, width)
        broken = driver.execute_script(
            "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.getAttribute('src'));"
        )
        problems += [f"{width}px: image does not decode: {src}" for src in broken]
        # against the device width, not innerWidth: a phone zooms out to fit a too-wide page
        wide = driver.execute_script("return document.documentElement.scrollWidth;")
        if wide > width:
            problems.append(f"{width}px: page is {wide} px wide, wider than the {width} px viewport")
        if width >= 1000:  # on a laptop no table hides columns behind its scroll bar (issue 27)
            clipped = driver.execute_script(
                "return Array.from(document.querySelectorAll('div.scroll'))"
                ".filter(d => d.scrollWidth > d.clientWidth + 1).map(d => d.getAttribute('aria-label'));"
            )
            problems += [f"{width}px: table wider than its box: {label}" for label in clipped]
        if shots is not None:
            shots.mkdir(parents=True, exist_ok=True)
            height = driver.execute_script("return document.documentElement.scrollHeight;")
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": min(int(height), 16000), "deviceScaleFactor": 1, "mobile": width < 600},
            )
            driver.save_screenshot(str(shots / f"report_{width}px.png"))
    problems += [
        f"console {e['level']}: {e['message']}"
        for e in driver.get_log("browser")
        if e["level"] in ("WARNING", "SEVERE")
    ]
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            url = msg["params"]["request"]["url"]
            if not url.startswith(("file://", "data:")):
                problems.append(f"request leaves file://: {url}")
    return problems


def test_the_checks_catch_what_they_look_for(browser, tmp_path):
    """A page with each fault is flagged, and the fixed page is not (the test can fail)."""
    from PIL import Image

    Image.new("RGB", (20, 10), "white").save(tmp_path / "ok.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    good = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        'content="width=device-width, initial-scale=1"><title>t</title></head><body>'
        '<img src="ok.png" alt="a white box"><div style="overflow-x:auto"><div style="width:2000px">wide, '
        "scrolls in its box</div></div></body></html>"
    )
    (tmp_path / "good.html").write_text(good)
    assert page_problems(browser, tmp_path / "good.html") == []
    bad = good.replace(
        "</body>",
        '<img src="broken.png" alt="x"><div style="width:900px">too wide</div>'
        '<script>console.error("boom")</script>'
        '<img src="http://127.0.0.1:9/x.png" alt="remote">'
        '<div class="scroll" style="overflow-x:auto" aria-label="wide table"><table><tr><td>'
        '<div style="width:1500px">x</div></td></tr></table></div>'
        "</body>",
    )
    (tmp_path / "bad.html").write_text(bad)
    found = "\n".join(page_problems(browser, tmp_path / "bad.html"))
    expected_faults = ("broken.png", "wider than the 390 px viewport", "boom", "request leaves file://: http")
    for expected in (*expected_faults, "1366px: table wider than its box: wide table"):
        assert expected in found, found


@pytest.mark.e2e
def test_default_report_in_a_browser(browser, default_run):
    page = default_run / "results/report/index.html"
    assert page_problems(browser, page, ARTIFACTS / "browser") == []
