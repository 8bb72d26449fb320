"""The public transparency page as a phone shows it, in real headless Chromium: no WCAG violation
(axe-core), nothing wider than a 360 px screen, readable without JavaScript, and the screenshots in
the README's screenshots folder (``build/screenshots/publik-360.png``, ``publik-skm-poster-360.png``)."""

from __future__ import annotations

import asyncio

import pytest

from testkit.browser import CHROMIUM, DRIVER, SHOTS, Person, axe_script
from tests.e2e.test_public_page import site  # noqa: F401  (the seeded app)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM and DRIVER),
        reason="no browser here: install Debian's chromium and chromium-driver to run this test",
    ),
]


def look(base: str, source: str) -> dict:
    person = Person(base)
    try:
        seen = {}
        for name, path in (("publik-360", "/publik"), ("publik-skm-poster-360", "/publik/skm/PUPR-BM")):
            person.driver.get(base + path)  # a plain page: not the chat's Person.open
            person.until(lambda: person.js("return document.readyState") == "complete", "the page loaded")
            seen[name] = {
                "violations": person.axe(source),
                "width": person.js("return document.documentElement.scrollWidth"),
                "text": person.js("return document.body.innerText"),
                "scripts": person.js("return document.scripts.length"),
            }
            person.driver.set_window_size(360, max(740, person.js("return document.body.scrollHeight") + 120))
            person.screenshot(name)
        return seen
    finally:
        person.close()


async def test_the_public_page_and_the_poster_on_a_phone(site):  # noqa: F811
    _app, _http, base = site
    source = await asyncio.to_thread(axe_script)
    if source is None:
        pytest.skip("axe-core could not be installed from the npm registry (no npm here)")
    seen = await asyncio.to_thread(look, base, source)
    page, poster = seen["publik-360"], seen["publik-skm-poster-360"]
    assert page["violations"] == [], page["violations"]
    assert poster["violations"] == [], poster["violations"]
    assert page["width"] <= 360 and poster["width"] <= 360, "nothing wider than the phone's screen"
    assert page["scripts"] == 0 and poster["scripts"] == 0, "server-rendered, no JavaScript"
    assert "PUPR" in page["text"] and "IKM" in poster["text"]
    assert (SHOTS / "publik-360.png").is_file() and (SHOTS / "publik-skm-poster-360.png").is_file()
