"""Kanal Partisipasi: the application (CLI, settings, wiring, normal form, dispatcher, delivery, rules)."""

__version__ = "0.1.0"
