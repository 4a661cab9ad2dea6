"""Browser-test fixtures: one Streamlit server per session and Debian's headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from streamlit_server import (
    ROOT,
    StreamlitServer,
    chromium_launch_args,
    chromium_missing_reason,
    run_streamlit,
    running_in_ci,
)

# Patient but bounded waits: two shared cores may be busy with other work.
ASSERT_TIMEOUT_MS = 30_000
ACTION_TIMEOUT_MS = 60_000
expect.set_options(timeout=ASSERT_TIMEOUT_MS)


@pytest.fixture(scope="session")
def chromium_available() -> None:
    """Skip the browser tests where Chromium is missing, but fail them under CI."""
    reason = chromium_missing_reason()
    if reason is None:
        return
    if running_in_ci():
        pytest.fail(f"{reason}; CI is set, so the browser tests must run", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict, chromium_available: None) -> dict:
    """Launch /usr/bin/chromium headless with the project's flags (no ``playwright install``)."""
    return {**browser_type_launch_args, **chromium_launch_args()}


@pytest.fixture(scope="session")
def app_server(chromium_available: None) -> Iterator[StreamlitServer]:
    """The app under test, started once for the session and stopped at its end."""
    with run_streamlit() as server:
        yield server


@pytest.fixture(scope="session")
def base_url(app_server: StreamlitServer) -> str:
    """Let ``page.goto("/...")`` resolve against the running app."""
    return app_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """A desktop-sized viewport so the sidebar and both images are on screen."""
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


@pytest.fixture(scope="session")
def screenshot_dir(pytestconfig: pytest.Config) -> Path:
    """Where page screenshots go: ``docs/`` with UPDATE_SCREENSHOTS=1 (they feed the
    README), otherwise pytest-playwright's output folder, so a test run leaves the
    committed files alone."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        return ROOT / "docs"
    folder = Path(pytestconfig.getoption("--output")) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def patient_page(page: Page) -> None:
    """Every test's page, with a longer default timeout for clicks, downloads and waits."""
    page.set_default_timeout(ACTION_TIMEOUT_MS)
