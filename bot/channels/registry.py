"""The one list of channels. Adding a channel = its own package (a module with a ``SPEC``, see
:class:`~bot.channels.base.ChannelSpec`) + one line in :data:`CHANNELS`.

The app builds the channels the settings enable from here; a process that only writes to the
outbox (``kanal jobs run``) takes the pure renderers (:func:`renderers`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.channels.base import Channel, ChannelContext, ChannelSpec, Renderer
from bot.channels.sms import sms_channel
from bot.channels.telegram import telegram_channel
from bot.channels.web import web_channel
from bot.channels.whatsapp import whatsapp_channel

#: in this order the channels are built, started and listed
CHANNELS: tuple[ChannelSpec, ...] = (
    web_channel.SPEC,
    telegram_channel.SPEC,
    whatsapp_channel.SPEC,
    sms_channel.SPEC,
)


def build_channels(settings: Any, context_for: Callable[[str], ChannelContext]) -> dict[str, Channel]:
    """The channels ``settings`` enable, by name; ``context_for(name)`` gives each its context."""
    built: dict[str, Channel] = {}
    for spec in CHANNELS:
        config = spec.configure(settings)
        if config is not None:
            built[spec.name] = spec.build(config, context_for(spec.name))
    return built


def renderers(settings: Any = None) -> dict[str, Renderer]:
    """The pure ``render(reply)`` of the channels, without building any. With ``settings``: only the
    channels they enable; without: every channel, so a row is rendered whatever this process's
    configuration says and waits in the outbox until an instance with that channel sends it."""
    return {spec.name: spec.render for spec in CHANNELS if settings is None or spec.configure(settings) is not None}
