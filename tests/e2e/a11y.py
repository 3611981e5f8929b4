"""Accessibility checks for every page a browser test visits (WCAG 2.1 AA, binding on Norwegian
universities): axe-core finds no violation of the WCAG 2.0/2.1 A and AA rules, and at 390 px
wide (a phone) nothing scrolls sideways."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
PHONE_WIDTH = 390
_axe = Axe()


def violations(page: Page) -> list[str]:
    """The WCAG A/AA rules the page breaks, each with the elements that break it."""
    results = _axe.run(page, options={**WCAG_AA, "resultTypes": ["violations"]})
    found = results.response.get("violations", [])
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"])
        for v in found
    ]


def scrolls_sideways(page: Page) -> bool:
    return bool(
        page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    )


def check(page: Page) -> None:
    """axe-core at the page's own width, then the page at 390 px wide; the width is restored."""
    assert violations(page) == [], page.url
    size = page.viewport_size or {"width": 1280, "height": 800}
    page.set_viewport_size({"width": PHONE_WIDTH, "height": size["height"]})
    try:
        assert not scrolls_sideways(page), f"{page.url} scrolls sideways at {PHONE_WIDTH} px"
        assert violations(page) == [], f"{page.url} at {PHONE_WIDTH} px"
    finally:
        page.set_viewport_size(size)
