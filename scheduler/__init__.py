"""Scheduled jobs (APScheduler 3): SLA reminders and escalation, auto-close, daily digest, forum
reminders, retention; with leader election so only one instance schedules.

``runner.py`` fires jobs on the leader only (``leader.py``); each job is a module-level
``async def job(ctx)`` in its own ``job_*.py`` module (context and result in ``job_context.py``),
listed with its trigger in ``registry.py``, so ``kanal jobs run NAME --at ISO-TIME`` can run any
of them once as of a given instant.
"""
