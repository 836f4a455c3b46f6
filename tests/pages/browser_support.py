"""What the browser tests share: Debian's chromium through Playwright, screenshots, log-in."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings as django_settings
from playwright.sync_api import ConsoleMessage, Page, ViewportSize
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(django_settings.BASE_DIR) / "test-artifacts" / "browser"
PHONE: ViewportSize = {"width": 390, "height": 844}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page: Page, app: str, username: str, password: str, *, path: str = "/login/") -> None:
    page.goto(app + path)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("form [type=submit]").last.click()


def recorded_errors(page: Page) -> list[str]:
    """Script errors and console errors (failed loads included) of everything this page shows."""
    errors: list[str] = []

    def on_error(exc: PlaywrightError) -> None:
        errors.append(str(exc))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("pageerror", on_error)
    page.on("console", on_console)
    return errors


def page_width_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: nothing scrolls sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
