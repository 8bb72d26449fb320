"""The PIN that lets a reporter find a complaint again from another phone or browser.

At submission the reporter gets the number and a short PIN ("ADU-2026-00042 · PIN 4821").
``/status NOMOR PIN`` on any channel shows the complaint to whoever knows both, and offers to
attach it to the identity they use now.

Only a hash is stored (``complaints.pin_hash``): ``scrypt1$`` + hex of
``hashlib.scrypt(PIN, salt="kanal-pin:" + number, n=2**12, r=8, p=1, dklen=24)``. The number is
the salt, so the same PIN on two complaints gives two hashes. A PIN of 4 digits has only
10,000 values: what keeps it safe is the limit on wrong guesses (:data:`MAX_WRONG` in
:data:`WRONG_WINDOW` lock the number for :data:`LOCK_FOR`), counted in the database for every
number typed, existing or not, so the answers never tell whether a number exists. The PIN itself
is never stored, logged, audited or exported: it lives only in the reporter's receipt message.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

#: digits of a new PIN
PIN_LENGTH = 4
#: wrong PINs for one number within WRONG_WINDOW that lock it
MAX_WRONG = 5
WRONG_WINDOW = timedelta(hours=24)
#: how long PIN checks stay locked for that number
LOCK_FOR = timedelta(hours=24)
#: how long a checked PIN's "attach this report to this account?" offer stays valid
ATTACH_VALID = timedelta(minutes=30)

SCHEME = "scrypt1"
_N, _R, _P, _LEN = 2**12, 8, 1, 24  # "scrypt1$" + 48 hex digits fit the 64-character column
#: what may follow the number in "/status ADU-2026-00042 4821" ("· PIN 4821", "pin: 4821")
_PIN_AFTER_NUMBER = re.compile(r"^[\s·:,;\-]*(?:pin\b[\s:=#]*)?(\d{4,8})\s*$", re.IGNORECASE)


def new_pin(length: int = PIN_LENGTH) -> str:
    """A fresh random PIN of ``length`` digits (``secrets``: unpredictable)."""
    return "".join(secrets.choice("0123456789") for _ in range(length))


def _digest(number: str, pin: str) -> str:
    raw = hashlib.scrypt(pin.encode(), salt=f"kanal-pin:{number}".encode(), n=_N, r=_R, p=_P, dklen=_LEN)
    return raw.hex()


def pin_hash(number: str, pin: str) -> str:
    """What is stored for ``pin`` on complaint ``number``."""
    return f"{SCHEME}${_digest(number, pin)}"


def pin_matches(stored: str | None, number: str, pin: str) -> bool:
    """True when ``pin`` is the PIN of complaint ``number`` (constant-time comparison); False for
    a complaint without a PIN (filed before PINs existed, or erased) — or none at all: the hash is
    computed anyway, so that the time taken does not tell whether the number exists."""
    computed = _digest(number, pin or "")
    scheme, _, digest = (stored or "").partition("$")
    return bool(pin) and scheme == SCHEME and hmac.compare_digest(digest, computed)


def typed_pin(rest: str) -> str | None:
    """The PIN in what followed the number ("4821", "· PIN 4821", "pin: 4821"), or None."""
    m = _PIN_AFTER_NUMBER.match(rest or "")
    return m.group(1) if m else None


def locked_until(last_lock: datetime | None, now: datetime) -> datetime | None:
    """Until when PIN checks stay locked after the lock at ``last_lock``; None when they are not."""
    if last_lock is None or last_lock + LOCK_FOR <= now:
        return None
    return last_lock + LOCK_FOR


def locks_now(wrong_before: int) -> bool:
    """Whether one more wrong PIN, after ``wrong_before`` in the window, locks the number."""
    return wrong_before + 1 >= MAX_WRONG
