"""FKP — Forum Konsultasi Publik (PermenPANRB 16/2017) as conversations.

``router`` holds the feature in /bantuan order: ``/forum`` for everyone (``forum_citizen``, with
written input in ``forum_input`` and the staff's view in ``forum_staff_view``), ``/forumbaru``
(``forum_creation``, its questions and summary in ``forum_draft``) and ``/forumhasil`` (``forum_minutes``). Rules are in
``bot.domain.forum_rules``, queries in ``storage.forum_repo``, announcing and publishing (shared
with ``kanal forum``) in ``bot.services.forum_service``; every message to someone else goes through
the outbox as a notification (WhatsApp sends a template outside the 24 h window).
"""

from __future__ import annotations

from bot.engine.router import Router
from handlers.forum import forum_citizen, forum_creation, forum_input, forum_minutes

router = Router("forum")
router.include(forum_citizen.router)
router.include(forum_input.router)
router.include(forum_creation.router)
router.include(forum_minutes.router)
