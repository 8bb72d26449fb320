"""Invitation codes that give a person a staff role (officer of an OPD, or coordinator).

One place makes the codes for the chat command (/undang), the account flow and the CLI
(``kanal invite``): unambiguous letters and digits, three groups of four.
"""

from __future__ import annotations

import secrets
import string
from datetime import timedelta

INVITE_ALPHABET = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"
INVITE_VALID_FOR = timedelta(days=7)


def new_invite_code() -> str:
    """A fresh single-use code such as ``ABCD-EFGH-JKLM``."""
    return "-".join("".join(secrets.choice(INVITE_ALPHABET) for _ in range(4)) for _ in range(3))
