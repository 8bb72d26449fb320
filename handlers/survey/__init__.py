"""SKM (Survei Kepuasan Masyarakat): the citizens' questionnaire and the staff's results.

``router`` holds the feature's commands in /bantuan order: /survei (``survey_questionnaire``),
then /ikm, /populasi and /ekspor (``survey_results``).
"""

from __future__ import annotations

from bot.engine.router import Router
from handlers.survey import survey_questionnaire, survey_results

router = Router("survey")
router.include(survey_questionnaire.router)
router.include(survey_results.router)
