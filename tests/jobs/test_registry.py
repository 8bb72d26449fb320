"""The explicit job registry: what ``kanal jobs`` and the leader's schedule are built from."""

from __future__ import annotations

import pytest

from handlers.digest_command import router as digest_router
from scheduler import job_registry as registry
from scheduler.runner import JobRunner


class _Standby:
    is_leader = False

    def subscribe(self, **_kw) -> None:
        pass


class _Settings:
    digest_time = "06:30"


def test_every_job_is_listed_once_with_a_description_and_a_trigger():
    names = [job.name for job in registry.JOBS]
    assert names == [
        "sla",
        "autoclose",
        "digest",
        "retention",
        "outbox_prune",
        "forum_reminder",
        "dedupe_prune",
        "new_complaints",
        "routing_retrain",
        "lapor_sync",
        "fixed_check",
    ]
    assert list(registry.all_jobs()) == names == list(registry.descriptions())
    for job in registry.JOBS:
        assert job.description and (job.interval is not None) != (job.daily_at is not None)


def test_schedule_puts_every_job_on_the_runner_with_the_digest_time_from_the_settings():
    runner = JobRunner(_Standby(), None, timezone="Asia/Jakarta")  # type: ignore[arg-type]
    registry.schedule(runner, _Settings())
    listed = {name: when for name, when, _ in runner.list_jobs()}
    assert list(listed) == [job.name for job in registry.JOBS]
    assert listed["sla"] == "every 60 s" and listed["forum_reminder"] == "every 900 s"
    assert listed["new_complaints"] == "every 60 s"
    assert listed["digest"] == "daily at 06:30 Asia/Jakarta"
    assert listed["autoclose"] == "daily at 08:05 Asia/Jakarta"
    assert listed["fixed_check"] == "daily at 09:00 Asia/Jakarta"
    assert listed["retention"] == "daily at 02:30 Asia/Jakarta"


async def test_run_job_refuses_an_unknown_name():
    with pytest.raises(KeyError, match="unknown job 'nope'"):
        await registry.run_job("nope", None)  # type: ignore[arg-type]


def test_the_digest_command_is_a_module_level_router():
    assert [c.names for c in digest_router.ordered] == [("ringkasan", "digest")]
    assert digest_router.ordered[0].roles == ("officer", "coordinator")
