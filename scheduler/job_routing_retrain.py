"""Routing model retraining (hourly): the region's routing model learns from the decisions its staff
made since (``/arahkan``, ``/teruskan``, ``/luar``) and from imported history.

A run trains when there is something to learn: at least ``NEW_EXAMPLES`` examples arrived since the
stored model was trained, any new example when that model is a day old, or there is no model (none
yet, erasure/retention dropped it with the text it learnt from, or another scikit-learn version made
it) and enough examples. Otherwise it
does nothing. Training runs in a worker thread; the model is stored in the database, so every
instance uses the same one (``bot.engine.region_context.routing_model``).
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain.routing_model import MIN_EXAMPLES
from bot.engine.region_context import routing_model
from bot.services.routing_service import retrain
from scheduler.job_context import JobContext, JobResult

INTERVAL = 3600  # seconds
NEW_EXAMPLES = 20
DAILY = timedelta(days=1)


async def routing_retrain(ctx: JobContext) -> JobResult:
    now = ctx.now()
    result = JobResult("routing_retrain", now)
    region = await ctx.region()
    async with ctx.db.unit_of_work() as uow:
        repo = uow.routing
        # a stored model another scikit-learn version made does not load: as if there were none
        trained = await repo.last_trained_at() if await routing_model(repo) is not None else None
        new = await repo.new_since(trained)
        due = (
            new >= NEW_EXAMPLES
            or (trained is not None and new and now - trained >= DAILY)
            or (trained is None and new >= MIN_EXAMPLES)
        )
    if not due:
        result.add("nothing_new" if trained is not None else "too_few_examples")
        return result
    report = await retrain(ctx.db, region.router, now)
    if report.stale:
        result.add("examples_changed")  # an erasure while it trained: the next run trains again
    elif report.model_id is None:
        result.add("too_few_examples")
    else:
        result.add("trained")
        result.add("examples", report.examples)
    return result
