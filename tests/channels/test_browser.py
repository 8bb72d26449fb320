"""The web chat page in a real headless Chromium (Debian's chromium + chromium-driver)."""

from __future__ import annotations

import asyncio

import pytest

from testkit.browser import CHROMIUM, DRIVER, Person

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM and DRIVER),
        reason="no browser here: install Debian's chromium and chromium-driver to run this test",
    ),
]


@pytest.fixture
def app(web_app):
    return web_app


def drive(url: str) -> dict:
    from selenium.webdriver.common.by import By  # noqa: PLC0415 - optional browser driver
    from selenium.webdriver.support import expected_conditions as EC  # noqa: PLC0415 - optional browser driver
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415 - optional browser driver

    person = Person(url.rstrip("/"))
    driver = person.driver
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 20)
        wait.until(lambda d: d.execute_script("return document.body.dataset.connected") == "1")
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "button.choice[data-value='consent:yes']")))
        consent = driver.find_elements(By.CSS_SELECTOR, ".msg.bot")[-1].text
        driver.find_element(By.CSS_SELECTOR, "button.choice[data-value='consent:yes']").click()
        wait.until(lambda d: any("Menu utama" in e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg.bot")))
        driver.find_element(By.CSS_SELECTOR, "button.choice[data-value='/bantuan']").click()
        wait.until(lambda d: any("/hapusdata" in e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg.bot")))
        box = driver.find_element(By.ID, "input")
        box.send_keys("<b>halo</b> & apa kabar")
        driver.find_element(By.ID, "send").click()
        wait.until(lambda d: any("<b>halo</b>" in e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg.user")))
        wait.until(
            lambda d: any("Ada yang bisa kami bantu" in e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg.bot"))
        )
        driver.save_screenshot("/tmp/kanal-webchat.png")
        return {
            "consent": consent,
            "user": [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".msg.user")],
            "bold_injected": len(driver.find_elements(By.CSS_SELECTOR, "#messages b")),
        }
    finally:
        person.close()


async def test_click_through_the_page(app):
    result = await asyncio.to_thread(drive, f"http://127.0.0.1:{app.port}/")
    assert "UU No. 27/2022" in result["consent"]
    assert any(text.startswith("<b>halo</b> & apa kabar") for text in result["user"])
    assert result["bold_injected"] == 0  # text shown as text, never as HTML
