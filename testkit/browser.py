"""A person at the web chat in real headless Chromium (Debian's chromium + chromium-driver).

Each :class:`Person` is its own browser profile (its own cookies: a second phone), on a 360 × 740
phone screen. They read what the page shows and type or tap as a person would; the DevTools
protocol stands in for what a phone would ask its owner (location permission and position).
``axe-core`` (from the npm registry, installed once into ``.cache/axe``) checks the page against
the WCAG 2.1 A/AA rules. Screenshots go to :data:`SHOTS` (``build/screenshots`` unless
``KANAL_SCREENSHOTS`` names another folder).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("KANAL_SCREENSHOTS") or ROOT / "build" / "screenshots")
AXE_VERSION = "4.10"
AXE_DIR = ROOT / ".cache" / "axe"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTH, HEIGHT = 360, 740


def axe_script() -> str | None:
    """axe-core's script, installed from the npm registry on first use; None where npm is absent."""
    path = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not path.is_file() and shutil.which("npm"):
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(AXE_DIR), f"axe-core@{AXE_VERSION}", "--no-audit", "--no-fund"],
            check=False,
            capture_output=True,
            timeout=300,
        )
    return path.read_text(encoding="utf-8") if path.is_file() else None


class Person:
    """One browser profile at the chat page."""

    def __init__(self, base: str, *, scripts: tuple[str, ...] = ()) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.support.ui import WebDriverWait

        self.base = base
        self.profile = tempfile.mkdtemp(prefix="kanal-profile-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            f"--user-data-dir={self.profile}",
            f"--window-size={WIDTH},{HEIGHT}",
        ):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
        self.cdp("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=True)
        for source in scripts:  # before any script of the page runs
            self.cdp("Page.addScriptToEvaluateOnNewDocument", source=source)
        self.wait = WebDriverWait(self.driver, 25)

    # ---- the browser ---------------------------------------------------------------------------
    def cdp(self, method: str, **params: Any) -> Any:
        return self.driver.execute_cdp_cmd(method, params)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def open(self, path: str = "/") -> None:
        self.driver.get(self.base + path)
        self.until(lambda: self.js("return document.body.dataset.connected") == "1")

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def until(self, check: Callable[[], Any], what: str = "") -> Any:
        try:
            return self.wait.until(lambda _d: check())
        except Exception as exc:
            raise AssertionError(f"waited for {what or check}; the page shows:\n{self.transcript()[-1500:]}") from exc

    # ---- what the page shows -------------------------------------------------------------------
    def texts(self, selector: str = ".msg.bot") -> list[str]:
        return self.js("return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText)", selector)

    def transcript(self) -> str:
        return "\n".join(self.texts(".msg, .notice"))

    def buttons(self) -> list[str]:
        return self.js(
            "return Array.from(document.querySelectorAll('button.choice:not(:disabled)')).map(b => b.innerText)"
        )

    def wait_for(self, words: str, selector: str = ".msg.bot") -> str:
        """The newest message that contains ``words`` (waits for it)."""
        return self.until(lambda: next((t for t in reversed(self.texts(selector)) if words in t), None), repr(words))

    # ---- what the person does ------------------------------------------------------------------
    def type(self, text: str, *, expect: str | None = None) -> None:
        """Type ``text`` and send it; wait for a new answer (containing ``expect`` when given)."""
        from selenium.webdriver.common.by import By

        before = len(self.texts())
        box = self.driver.find_element(By.ID, "input")
        box.send_keys(text)
        self.driver.find_element(By.ID, "send").click()
        self.until(lambda: len(self.texts()) > before, f"an answer to {text!r}")
        if expect is not None:
            self.wait_for(expect)
        self.settle()

    def tap(self, label: str) -> None:
        """Press the button whose text contains ``label``."""
        before = len(self.texts())
        self.until(
            lambda: self.js(
                "const b = Array.from(document.querySelectorAll('button.choice:not(:disabled), .tool, .earlier'))"
                ".find(b => b.innerText.includes(arguments[0])); if (b) { b.click(); return true; } return false;",
                label,
            ),
            f"a button {label!r}",
        )
        self.until(lambda: len(self.texts()) > before, f"an answer to pressing {label!r}")
        self.settle()

    def settle(self, quiet: float = 0.4) -> None:
        """Wait until no new message arrived for ``quiet`` seconds (a turn may answer in several)."""
        seen, since = len(self.texts(".msg")), time.monotonic()
        while time.monotonic() - since < quiet:
            time.sleep(0.1)
            now = len(self.texts(".msg"))
            if now != seen:
                seen, since = now, time.monotonic()

    def screenshot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def axe(self, source: str) -> list[dict[str, Any]]:
        """The WCAG 2.1 A/AA violations axe-core finds on the page as it is now."""
        self.js(source)
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
            ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.html.slice(0, 160))}))), e => done([{id: 'axe-error', help: String(e)}]));",
            AXE_TAGS,
        )
        return list(result)
