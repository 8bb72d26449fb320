"""WhatsApp through Meta's Cloud API: rendering, parsing and the channel (see ``whatsapp_channel``)."""
