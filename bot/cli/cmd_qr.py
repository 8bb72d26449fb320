"""`kanal qr UNIT|--all`: printable PNGs with the QR code of a unit's SKM deep link (Telegram,
WhatsApp or the web chat) and the unit's name under it, for the service counter."""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

COMMANDS = ("qr",)


def add_parsers(sub) -> None:
    qr = sub.add_parser(
        "qr",
        help="printable QR code of a unit's survey link",
        description="PNG with the QR code of the unit's SKM deep link and the unit's name under it, "
        "for the service counter. The link opens the questionnaire for that unit directly.",
    )
    qr.add_argument("unit", nargs="?", metavar="UNITCODE", help="the unit (or --all)")
    qr.add_argument("--all", action="store_true", help="one PNG per active unit into the directory given with -o")
    qr.add_argument("-o", "--output", required=True, metavar="FILE|DIR")
    target = qr.add_mutually_exclusive_group()
    target.add_argument(
        "--telegram-bot",
        metavar="USERNAME",
        help="link to t.me/USERNAME?start=skm_UNIT (default when no other target is given: "
        "KANAL_TELEGRAM_BOT_USERNAME)",
    )
    target.add_argument(
        "--whatsapp", metavar="NUMBER", help="link to wa.me/NUMBER with the text '/start skm_UNIT' ready to send"
    )
    target.add_argument("--web-url", metavar="URL", help="link to the web chat: URL?start=skm_UNIT")


async def run(args: argparse.Namespace, db, settings, now) -> int:
    return await _qr(args, db, settings)


def deep_link(unit_code: str, *, telegram_bot: str | None, whatsapp: str | None, web_url: str | None) -> str:
    payload = f"skm_{unit_code}"
    if whatsapp:
        number = re.sub(r"\D", "", whatsapp)
        return f"https://wa.me/{number}?text={quote('/start ' + payload)}"
    if web_url:
        sep = "&" if "?" in web_url else "?"
        return f"{web_url}{sep}start={payload}"
    return f"https://t.me/{telegram_bot.lstrip('@')}?start={payload}"


def qr_png(link: str, title: str, subtitle: str) -> bytes:
    """The QR code with the unit's name (and what it is for) printed under it."""
    import qrcode  # noqa: PLC0415 - only this command draws: keeps qrcode and Pillow out of `kanal --help`
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415 - as above

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=12, border=4)
    code.add_data(link)
    code.make(fit=True)
    qr_img = code.make_image(fill_color="black", back_color="white").convert("RGB")
    width = max(qr_img.width, 720)

    def font(size: int):
        for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "DejaVuSans-Bold.ttf"):
            try:
                return ImageFont.truetype(path, size)
            except OSError:
                continue
        try:
            return ImageFont.load_default(size=size)
        except TypeError:  # Pillow < 10.1
            return ImageFont.load_default()

    big, small = font(34), font(24)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    lines = [(line, big) for line in _wrap(probe, title, big, width - 40)] + [
        (line, small) for line in _wrap(probe, subtitle, small, width - 40)
    ]
    heights = [probe.textbbox((0, 0), text, font=f)[3] + 12 for text, f in lines]
    canvas = Image.new("RGB", (width, qr_img.height + sum(heights) + 30), "white")
    canvas.paste(qr_img, ((width - qr_img.width) // 2, 0))
    draw = ImageDraw.Draw(canvas)
    y = qr_img.height
    for (text, f), h in zip(lines, heights, strict=False):
        w = draw.textlength(text, font=f)
        draw.text(((width - w) / 2, y), text, fill="black", font=f)
        y += h
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def _wrap(draw, text: str, font, max_width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= max_width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def publication_base(settings, web_url: str | None) -> str:
    """Where the public page is served: ``KANAL_PUBLIC_URL``, else the web chat's address, else the
    bot's own HTTP server."""
    if getattr(settings, "public_url", None):
        return settings.public_url.rstrip("/")
    if web_url:
        parts = urlsplit(web_url)
        return f"{parts.scheme}://{parts.netloc}"
    return f"http://{settings.http_host}:{settings.http_port}"


async def _qr(args, db, settings) -> int:
    bot_name = args.telegram_bot or getattr(settings, "telegram_bot_username", None)
    if not (bot_name or args.whatsapp or args.web_url):
        print(
            "kanal: say where the QR code should lead: --telegram-bot USERNAME, --whatsapp NUMBER or --web-url URL "
            "(or set KANAL_TELEGRAM_BOT_USERNAME)",
            file=sys.stderr,
        )
        return 2
    if bool(args.unit) == bool(args.all):
        print("kanal: give one UNITCODE, or --all with -o DIRECTORY", file=sys.stderr)
        return 2
    async with db.unit_of_work() as uow:
        repo = uow.region
        units = list(await repo.units())
        opds = {o.code: o.name for o in await repo.opds()}
    if args.unit:
        wanted = args.unit.upper()
        units = [u for u in units if u.code == wanted]
        if not units:
            print(f"kanal: unknown unit {args.unit!r}; `kanal region show` lists the units", file=sys.stderr)
            return 2
    poster_base = publication_base(settings, args.web_url)
    target = Path(args.output)
    if args.all:
        target.mkdir(parents=True, exist_ok=True)
    for unit in units:
        link = deep_link(unit.code, telegram_bot=bot_name, whatsapp=args.whatsapp, web_url=args.web_url)
        png = qr_png(link, unit.name, f"Survei Kepuasan Masyarakat · {opds.get(unit.opd_code, unit.opd_code)}")
        path = target / f"skm_{unit.code}.png" if args.all else target
        path.write_bytes(png)
        print(f"{unit.code}: {path}  →  {link}")
        print(f"    SKM results to print for the counter (poster): {poster_base}/publik/skm/{unit.code}")
    return 0
