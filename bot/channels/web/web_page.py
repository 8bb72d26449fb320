"""The chat page as served: the static page with the Pemda's header filled in.

The header names the Pemda (from the region file), its logo, how to reach it and the emergency
number; every value is escaped, the logo is accepted only as a ``data:image/…`` URL (the page's
Content-Security-Policy allows no other image source) and the emergency number becomes a ``tel:``
link of its digits.
"""

from __future__ import annotations

import html
import re
from typing import Any

#: where the header goes in ``static/webchat.html``
HEADER_MARK = "<!--HEADER-->"
DEFAULT_NAME = "Kanal Partisipasi"
_LOGO_RE = re.compile(r"^data:image/(png|jpeg|webp|svg\+xml);base64,[A-Za-z0-9+/=]+$")


def header_html(info: dict[str, Any]) -> str:
    name = html.escape(str(info.get("name") or DEFAULT_NAME))
    logo = info.get("logo")
    logo_html = (
        f'<img class="logo" src="{logo}" alt="" width="40" height="40">'
        if isinstance(logo, str) and _LOGO_RE.match(logo)
        else '<span class="logo" aria-hidden="true">🏛️</span>'
    )
    emergency = str(info.get("emergency") or "112")
    digits = "".join(c for c in emergency if c.isdigit() or c == "+")
    number = html.escape(emergency)
    call = f'<a href="tel:{digits}">{number}</a>' if digits else number
    contact = info.get("contact")
    contact_html = f'<span class="contact">{html.escape(str(contact))}</span>' if contact else ""
    return (
        f'<div class="brand">{logo_html}<div><h1>{name}</h1>'
        '<p class="sub">Kanal Partisipasi · pengaduan, survei &amp; forum warga</p></div></div>'
        f'<p class="reach">{contact_html}<strong class="sos">Darurat / Emergency: {call}</strong></p>'
    )


def render_page(template: str, info: dict[str, Any]) -> bytes:
    """``template`` with its header; the page's title names the Pemda too."""
    name = html.escape(str(info.get("name") or DEFAULT_NAME))
    page = template.replace(HEADER_MARK, header_html(info), 1)
    if name != DEFAULT_NAME:
        page = page.replace("<title>Kanal Partisipasi</title>", f"<title>Kanal Partisipasi · {name}</title>", 1)
    return page.encode()
