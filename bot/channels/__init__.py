"""The channels: one package per platform behind one protocol (``base.Channel``), listed in
``registry``. Each turns platform traffic into ``Inbound`` and renders ``Reply``; they import only
the message types, their own ports and their platform's libraries."""
