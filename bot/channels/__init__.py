"""One module per platform. Each turns platform traffic into ``Inbound`` and renders ``Reply``."""
