"""The chat page's header: the Pemda's words from the region file, escaped, never markup."""

from __future__ import annotations

from bot.channels.web.web_page import HEADER_MARK, header_html, render_page


def test_the_header_names_the_pemda_and_the_emergency_number():
    page = render_page(
        f"<title>Kanal Partisipasi</title><header>{HEADER_MARK}</header>",
        {"name": "Kota <Contoh>", "contact": "WA 0812 & call center", "emergency": "112"},
    ).decode()
    assert "<title>Kanal Partisipasi · Kota &lt;Contoh&gt;</title>" in page
    assert "<h1>Kota &lt;Contoh&gt;</h1>" in page and "WA 0812 &amp; call center" in page
    assert '<a href="tel:112">112</a>' in page


def test_only_an_inline_image_is_taken_as_the_logo():
    good = header_html({"logo": "data:image/png;base64,iVBORw0KGgo="})
    assert '<img class="logo" src="data:image/png;base64,iVBORw0KGgo="' in good
    for bad in ("https://evil.example/x.png", 'data:image/png;base64,AA" onerror="alert(1)', "javascript:alert(1)"):
        html = header_html({"logo": bad})
        assert "<img" not in html and "onerror" not in html and "evil" not in html


async def test_the_served_page_has_the_demo_region_header(web_app):
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{web_app.port}/") as resp:
        page = await resp.text()
    assert "<h1>Kabupaten Sukamaju (demo)</h1>" in page and "Darurat / Emergency" in page
    assert "img-src 'self' data: blob:" in resp.headers["Content-Security-Policy"]
    assert "worker-src 'self'" in resp.headers["Content-Security-Policy"]  # the service worker
