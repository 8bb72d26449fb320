"""Photos sent from the web chat page: ``POST /upload`` checks an image, strips it and keeps it.

The page posts one multipart field ``file`` (same origin, with the identity cookie, counted against
the web chat's limits like a message). The bytes must be a JPEG, PNG or WebP (HEIC only where
Pillow can open it) — sniffed from the bytes, never from the name or the declared type — within
``KANAL_MEDIA_MAX_BYTES`` and ``KANAL_MEDIA_MAX_PIXELS``. The EXIF location is read (the page
offers it as the complaint's place), then every piece of metadata goes: the image is turned
upright by its EXIF orientation and encoded anew. The stored bytes are named by their SHA-256
under ``KANAL_MEDIA_DIR`` (``ab/abcdef….jpg``), written to a temporary file and renamed. Nothing
serves that folder: staff reach a photo only through a signed link (``bot/media_route.py``).

Answer: ``{"ref": "upload:<sha256>", "mime", "size", "width", "height", "gps": {latitude,
longitude} | null}``; refusals are JSON ``{"error": "<Indonesian> / <English>"}`` with 401, 403,
413, 415 or 429 (+ ``Retry-After``). The photo then goes over the websocket as
``{"type": "photo", "ref": …}``; only refs this identity uploaded (in this process, for a day)
are taken.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from PIL import Image, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

REF_PREFIX = "upload:"
#: Pillow format → (stored extension, MIME type, format to save in)
_FORMATS = {
    "JPEG": ("jpg", "image/jpeg", "JPEG"),
    "MPO": ("jpg", "image/jpeg", "JPEG"),  # a phone's JPEG with a second (depth) picture: first kept
    "PNG": ("png", "image/png", "PNG"),
    "WEBP": ("jpg", "image/jpeg", "JPEG"),  # WhatsApp shows WebP only as stickers
    "HEIF": ("jpg", "image/jpeg", "JPEG"),
}
_MIME_OF_EXT = {"jpg": "image/jpeg", "png": "image/png"}
#: how long a page may send the ref it got back as a photo
OWNERSHIP_SECONDS = 24 * 3600.0
_GPS_IFD = 0x8825

TOO_BIG = "Foto terlalu besar (maks. {mb} MB). / Photo too large (max {mb} MB)."
TOO_MANY_PIXELS = "Foto terlalu besar (maks. {mp} megapiksel). / Photo too large (max {mp} megapixels)."
NOT_IMAGE = (
    "Berkas ini bukan foto JPEG, PNG atau WebP. Foto HEIC dari iPhone: ubah ke JPEG dulu. / "
    "This file is not a JPEG, PNG or WebP photo. HEIC photos from an iPhone: convert to JPEG first."
)
NO_FILE = "Tidak ada foto yang dikirim. / No photo was sent."


class Refused(Exception):
    """An upload that is not taken: the HTTP status and the message for the person."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass(frozen=True)
class Processed:
    data: bytes
    ext: str
    mime: str
    width: int
    height: int
    gps: tuple[float, float] | None


def refusal(status: int, text: str, retry_after: int | None = None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response({"error": text}, status=status, headers=headers)


# ---- the image ------------------------------------------------------------------------------
def process_image(data: bytes, max_pixels: int) -> Processed:
    """Check, read the GPS of and re-encode ``data`` without metadata. Raises :class:`Refused`.
    Blocking: run it in a thread."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise Refused(413, TOO_MANY_PIXELS.format(mp=max_pixels // 1_000_000)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise Refused(415, NOT_IMAGE) from None
    with image:
        kind = _FORMATS.get(image.format or "")
        if kind is None:
            raise Refused(415, NOT_IMAGE)
        width, height = image.size
        if width * height > max_pixels or width < 1 or height < 1:
            raise Refused(413, TOO_MANY_PIXELS.format(mp=max_pixels // 1_000_000))
        try:
            gps = gps_of(image)
            upright = ImageOps.exif_transpose(image)  # also loads (decodes) the image
            stored = _encode(upright, kind[2], image.info.get("icc_profile"))
        except Image.DecompressionBombError:
            raise Refused(413, TOO_MANY_PIXELS.format(mp=max_pixels // 1_000_000)) from None
        except (OSError, ValueError, SyntaxError, EOFError):  # a truncated or broken file
            raise Refused(415, NOT_IMAGE) from None
        return Processed(stored, kind[0], kind[1], upright.width, upright.height, gps)


def _encode(image: Image.Image, fmt: str, icc: Any) -> bytes:
    """``image`` saved anew: pixels (and the colour profile) only, no EXIF, XMP or text chunks."""
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        if image.mode in ("RGBA", "LA", "P", "PA"):
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        else:
            image = image.convert("RGB")
    out = io.BytesIO()
    options: dict[str, Any] = {"quality": 88, "optimize": True} if fmt == "JPEG" else {"optimize": True}
    if isinstance(icc, bytes) and len(icc) < 1_000_000:
        options["icc_profile"] = icc
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _degrees(value: Any) -> float | None:
    try:
        d, m, s = (float(x) for x in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = d + m / 60 + s / 3600
    return result if math.isfinite(result) else None


def gps_of(image: Image.Image) -> tuple[float, float] | None:
    """(latitude, longitude) in decimal degrees from the photo's EXIF, or None."""
    try:
        gps = image.getexif().get_ifd(_GPS_IFD)
    except Exception:  # a broken EXIF block: no location, the photo is still good
        return None
    if not gps or 2 not in gps or 4 not in gps:
        return None
    lat, lon = _degrees(gps[2]), _degrees(gps[4])
    if lat is None or lon is None:
        return None
    if str(gps.get(1, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps.get(3, "E")).upper().startswith("W"):
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return round(lat, 7), round(lon, 7)


# ---- the folder -----------------------------------------------------------------------------
def sha_of(ref: str) -> str | None:
    """The hash in ``upload:<sha256>``, or None when ``ref`` is not one."""
    if not isinstance(ref, str) or not ref.startswith(REF_PREFIX):
        return None
    sha = ref[len(REF_PREFIX) :]
    return sha if len(sha) == 64 and all(c in "0123456789abcdef" for c in sha) else None


class MediaStore:
    """Uploads by content hash under one folder (shared by the instances that serve them)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, sha: str, ext: str) -> Path:
        return self.root / sha[:2] / f"{sha}.{ext}"

    def find(self, ref: str) -> Path | None:
        sha = sha_of(ref)
        if sha is None:
            return None
        for ext in _MIME_OF_EXT:
            path = self._path(sha, ext)
            if path.is_file():
                return path
        return None

    def store(self, data: bytes, ext: str) -> str:
        """Keep ``data`` (atomically: a temporary file renamed); its ref. Blocking."""
        sha = hashlib.sha256(data).hexdigest()
        path = self._path(sha, ext)
        if path.is_file():
            return REF_PREFIX + sha
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".up-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return REF_PREFIX + sha

    def read(self, ref: str) -> tuple[bytes, str]:
        """(bytes, MIME type) of a stored upload; FileNotFoundError when it is not there."""
        path = self.find(ref)
        if path is None:
            raise FileNotFoundError(ref)
        return path.read_bytes(), _MIME_OF_EXT[path.suffix[1:]]

    def delete(self, ref: str) -> bool:
        path = self.find(ref)
        if path is None:
            return False
        path.unlink(missing_ok=True)
        return True


class Ownership:
    """Which identity uploaded which ref (in this process, for :data:`OWNERSHIP_SECONDS`): a
    page may send as its photo only what it uploaded itself."""

    def __init__(self, seconds: float = OWNERSHIP_SECONDS, per_identity: int = 50) -> None:
        self.seconds = seconds
        self.per_identity = per_identity
        self._refs: dict[str, dict[str, float]] = {}

    def add(self, key: str, ref: str, now: float) -> None:
        refs = self._refs.setdefault(key, {})
        refs[ref] = now + self.seconds
        if len(refs) > self.per_identity:
            del refs[min(refs, key=refs.__getitem__)]
        if len(self._refs) > 10_000:
            self.prune(now)

    def owns(self, key: str, ref: str, now: float) -> bool:
        deadline = self._refs.get(key, {}).get(ref)
        return deadline is not None and deadline >= now

    def prune(self, now: float) -> None:
        for key in list(self._refs):
            live = {r: d for r, d in self._refs[key].items() if d >= now}
            if live:
                self._refs[key] = live
            else:
                del self._refs[key]


# ---- the request ----------------------------------------------------------------------------
async def read_file_field(request: web.Request, max_bytes: int) -> bytes:
    """The bytes of the multipart field ``file``, refused (413) as soon as they pass ``max_bytes``."""
    if request.content_length is not None and request.content_length > max_bytes + 64 * 1024:
        raise Refused(413, TOO_BIG.format(mb=_mb(max_bytes)))
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):  # not multipart at all
        raise Refused(415, NO_FILE) from None
    while True:
        part = await reader.next()
        if part is None:
            raise Refused(400, NO_FILE)
        if isinstance(part, BodyPartReader) and part.name == "file":
            break
        await part.release()
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise Refused(413, TOO_BIG.format(mb=_mb(max_bytes)))
        chunks.append(chunk)
    if not size:
        raise Refused(400, NO_FILE)
    return b"".join(chunks)


def _mb(n: int) -> str:
    return f"{n / 1_000_000:g}"


async def take_upload(request: web.Request, store: MediaStore, max_bytes: int, max_pixels: int) -> dict[str, Any]:
    """Read, check, strip and keep one upload; the JSON answer. Raises :class:`Refused`."""
    try:
        data = await read_file_field(request, max_bytes)
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):  # the upload broke off
        raise Refused(400, NO_FILE) from None
    processed = await asyncio.to_thread(process_image, data, max_pixels)
    ref = await asyncio.to_thread(store.store, processed.data, processed.ext)
    gps = {"latitude": processed.gps[0], "longitude": processed.gps[1]} if processed.gps else None
    return {
        "ref": ref,
        "mime": processed.mime,
        "size": len(processed.data),
        "width": processed.width,
        "height": processed.height,
        "gps": gps,
    }
