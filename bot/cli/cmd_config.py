"""`kanal config`: every KANAL_* setting with its effective value (secrets masked)."""

from __future__ import annotations

import argparse

COMMANDS = ("config",)
NEEDS = "nothing"


def add_parsers(sub) -> None:
    sub.add_parser(
        "config",
        help="show the effective configuration (secrets masked)",
        description="Print every KANAL_* setting and its effective value; secrets are masked.",
    )


async def run(args: argparse.Namespace, db, settings, now) -> int:
    for var, value, doc in settings.describe():
        print(f"{var:32} {value:40} {doc}")
    return 0
