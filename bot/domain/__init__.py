"""The rules layer: pure domain code (messages, i18n, clock, working days, region and its typed
config, complaints, routing, SKM, forum). No I/O, no SQL, no platform types; imports nothing
else of the project."""
