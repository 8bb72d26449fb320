"""The web chat: a page and a websocket served by the app's HTTP server (see ``web_channel``)."""
