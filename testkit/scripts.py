"""Scripted conversations shared by the crash test and the turn benchmark."""

from __future__ import annotations

#: (kind, what is sent or pressed, the answer's marker: ("text", substring) or ("button", callback data it offers))
Step = tuple[str, str, tuple[str, str]]


def complaint_turns(i: int) -> list[Step]:
    """A consented citizen files complaint number ``i`` through to its tracking number."""
    return [
        ("send", "/lapor", ("text", "Ceritakan masalah")),
        ("send", f"Lampu jalan mati di gang Mawar nomor {i}, sudah dua minggu gelap gulita", ("button", "lapor:next")),
        ("press", "lapor:next", ("button", "lapor:skip")),
        ("press", "lapor:skip", ("button", "lapor:privacy:biasa")),
        ("press", "lapor:privacy:biasa", ("button", "lapor:send")),
        ("press", "lapor:send", ("text", "Nomor laporan Anda: ADU-")),
    ]
