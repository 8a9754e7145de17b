"""Browser fixtures: headless Debian Chromium driven by Playwright's sync API against live_server.

Playwright's sync API runs an event loop in the test thread, so Django would refuse ORM calls
there ("You cannot call this from an async context"); the tests only read the database
between page actions, which is safe.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Browser, Page, expect, sync_playwright

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("QRQC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "pw-for-tests-only"
PHONE = {"width": 390, "height": 844}

expect.set_options(timeout=8_000)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not os.path.exists(CHROMIUM):
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set QRQC_CHROMIUM)"
        if IN_CI:
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # Between its calls Playwright marks its event loop as running in this thread, and Django
        # then keeps the thread's database connections apart, as for async code: the ones opened
        # meanwhile are not those the test database's teardown closes, and it could not be dropped
        # ("being accessed by other users") once database tests had run after the browser tests.
        connections.close_all()


@pytest.fixture(autouse=True)
def _live_database(transactional_db):
    """live_server serves from another thread, so the test data must really be committed."""


@pytest.fixture
def phone_page(request, browser: Browser, live_server):
    """Factory: a new phone-sized, touch-enabled page in a given locale. Each call gets its own
    context (cookies, language). A failed test leaves a full-page screenshot per page."""
    contexts = []

    def make(locale: str = "en-US") -> Page:
        context = browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale=locale,
            base_url=live_server.url,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for number, context in enumerate(contexts):
        if failed:
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            for page in context.pages:
                try:
                    page.screenshot(path=ARTIFACTS / f"FAILED-{name}-{number}.png", full_page=True)
                except Exception as exc:  # a broken page must not hide the test's own failure
                    print(f"no failure screenshot for {name}: {exc}")
        context.close()


def log_in(page: Page, username: str) -> None:
    """Through the real login form; `main` because the header's language switch is a submit too."""
    page.goto("/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.get_by_test_id("log-problem")).to_be_visible()


def screenshot(page: Page, name: str) -> None:
    """What the phone's screen shows now (`name.png`) and the whole page (`name-full.png`;
    sticky bars are drawn where the screen was)."""
    page.screenshot(path=ARTIFACTS / f"{name}.png")
    page.screenshot(path=ARTIFACTS / f"{name}-full.png", full_page=True)
