"""A real robotops server over a small simulated fleet, and Debian's Chromium driven by
Playwright. Shared by the whole session: the shift and the browser start once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from robotops.api.app import build_deps, create_app
from robotops.api.deps import ApiDeps
from robotops.settings import FleetSettings, Settings
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.shift import ShiftConfig, run_shift

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"


@dataclass
class Site:
    url: str
    tokens: dict[str, str]  # role -> token
    deps: ApiDeps


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("web")
    run_shift(
        root / "fleet", ShiftConfig(robots=2, minutes=0.75, seed=1, hazards=["glare"], workers=2)
    )
    with serve_in_thread(create_fleet_app(root / "fleet")) as fleet_url:
        settings = Settings(data_dir=root / "data", fleet=FleetSettings(url=fleet_url, retries=1))
        deps = build_deps(settings)
        with serve_in_thread(create_app(deps)) as url:
            yield Site(url, {rec.role: tok for tok, rec in deps.tokens.items()}, deps)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the web tests drive a real browser. "
            "`make test` installs it (Debian package `chromium`); or `apt-get install chromium`."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def login(browser: Browser, site: Site) -> Iterator[Callable[[str], Page]]:
    """``login(role)``: a fresh browser context logged in through the login form."""
    contexts = []

    def log_in(role: str) -> Page:
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{site.url}/ui/inbox")
        assert "/ui/login" in page.url
        page.fill("input[name=token]", site.tokens[role])
        page.click("button[type=submit]")
        page.wait_for_url(f"{site.url}/ui/inbox")
        return page

    yield log_in
    for context in contexts:
        context.close()


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    """``shot(page, name)``: a full-page screenshot kept as a test artifact (not in git)."""

    def take(page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def wait_image(page: Page, selector: str, timeout_ms: float = 20_000) -> None:
    """Wait until the first image matching ``selector`` has decoded (a broken or refused image
    never gets a natural width, so this fails on a 404 or a non-image)."""
    page.wait_for_function(
        """sel => { const i = document.querySelector(sel);
                   return i !== null && i.complete && i.naturalWidth > 0; }""",
        arg=selector,
        timeout=timeout_ms,
    )


@pytest.fixture
def image() -> Callable[[Page, str], None]:
    return wait_image
