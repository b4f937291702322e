"""One headless browser for the tests that open a page: Debian's chromium driven by Playwright.

Playwright's own browser download is not reachable here, so the tests drive the system
`chromium` (`apt-get install -y chromium`). The page's network requests are recorded, so a
test can assert that an "offline" page fetched nothing but its own file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


@dataclass
class OpenedPage:
    """A page with what it did: JavaScript errors and every URL it requested."""

    page: object
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class Browser:
    def __init__(self, browser) -> None:
        self._browser = browser

    def open(self, url: str, *, width: int = 1280, height: int = 900) -> OpenedPage:
        page = self._browser.new_page(viewport={"width": width, "height": height})
        opened = OpenedPage(page)
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        page.on("request", lambda request: opened.requests.append(request.url))
        page.goto(url)
        return opened


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """A headless chromium for the session; skips when Debian's chromium is absent."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield Browser(launched)
        finally:
            launched.close()
