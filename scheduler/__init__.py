"""Scheduled jobs (APScheduler 3): SLA reminders and escalation, auto-close, daily digest, forum
reminders, retention; with leader election so only one instance schedules.

The jobs arrive with the scheduler issue; this package is where they live. Jobs are module-level
functions that take the application's database and clock, so ``kanal jobs run NAME --at ISO-TIME``
can run any of them once as of a given instant.
"""
