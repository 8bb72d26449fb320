"""SQLAlchemy 2 typed models. The schema itself is created by the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT ids on PostgreSQL, INTEGER (rowid alias, autoincrement) on SQLite
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored as UTC; SQLite returns naive values, which are UTC by construction."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")

        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None

        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class RegionRow(Base):
    __tablename__ = "region"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # sla, skm, holidays as loaded
    loaded_at: Mapped[datetime]


class Opd(Base):
    __tablename__ = "opds"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Unit(Base):
    __tablename__ = "units"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    opd_code: Mapped[str] = mapped_column(ForeignKey("opds.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    population: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Service(Base):
    __tablename__ = "services"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    language_explicit: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(16), default="citizen")  # citizen | officer | coordinator
    opd_code: Mapped[str | None] = mapped_column(ForeignKey("opds.code"))
    consent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_inbound_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]


class ConversationState(Base):
    __tablename__ = "conversation_states"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]
    # optimistic check on top of the row lock: a concurrent writer makes the flush fail
    __mapper_args__ = {"version_id_col": version}


class WebhookInbox(Base):
    """A webhook body stored before the platform is told it arrived, until its messages are stored
    as turns: then the row is deleted (the body holds phone numbers and texts). Rows left by a
    crash are processed at the next start."""

    __tablename__ = "webhook_inbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime]


class WebPushSubscription(Base):
    """A web chat page's Web Push subscription: where to send a notification when no page of the
    person is open (migration 0013). Deleted with the person, and when the push service says 404/410."""

    __tablename__ = "web_push_subscriptions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(128), index=True)  # the web identity's key
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the endpoint
    endpoint: Mapped[str] = mapped_column(Text)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class RoutingExample(Base):
    """A labelled routing example of the region (migration 0014): the text of a complaint and where
    staff decided it belongs (an OPD code or ``NONE``: not the Pemda's business), or an imported row
    of the region's history (``kanal routing train``; no complaint). One row per complaint: its last
    decision. Deleted with the complaint's text (erasure, retention)."""

    __tablename__ = "routing_examples"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), unique=True, nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(16))  # arahkan | teruskan | kembalikan | luar | import
    created_at: Mapped[datetime]


class RoutingModelRow(Base):
    """A trained routing model of the region (migration 0014), shared by every instance: the
    pickled scikit-learn pipeline with the library version it needs, and its cross-validated figures."""

    __tablename__ = "routing_models"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    n_examples: Mapped[int]
    sklearn_version: Mapped[str] = mapped_column(String(32))
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    figures: Mapped[dict[str, Any]]


class AppSecret(Base):
    """Keys the app makes for itself on first start and keeps (the Web Push VAPID key pair, the
    media link signing key), so every instance and every restart uses the same (migration 0013)."""

    __tablename__ = "app_secrets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class InboundMessage(Base):
    """Deduplication of platform redeliveries: one row per (channel, external message id)."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int | None] = mapped_column(BigId)
    received_at: Mapped[datetime] = mapped_column(index=True)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128), index=True)
    user_id: Mapped[int | None] = mapped_column(BigId)
    payload: Mapped[dict[str, Any]]
    purpose: Mapped[str] = mapped_column(String(16), default="reply")
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    #: what the platform reported afterwards (WhatsApp statuses: sent, delivered, read, failed)
    delivery_status: Mapped[str | None] = mapped_column(String(12))
    delivery_status_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    #: ``{"user_id": …, "about": …}``: whom to tell if this message cannot be delivered (migration 0008)
    on_failure: Mapped[dict[str, Any] | None]
    #: what goes once the message is delivered or failed for good (migration 0009): "payload" (an
    #: export, an invite code: the payload is replaced) or "row" (the goodbye after /hapusdata)
    forget: Mapped[str | None] = mapped_column(String(8))
    #: the payload was replaced (delivered with ``forget``, or it named an erased person); such
    #: rows are never replayed to a web chat
    scrubbed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_user_id: Mapped[int | None] = mapped_column(BigId, index=True)
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Invite(Base):
    __tablename__ = "invites"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex; the code itself is never stored
    role: Mapped[str] = mapped_column(String(16))
    opd_code: Mapped[str | None] = mapped_column(ForeignKey("opds.code"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(BigId)
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(BigId)


class RespondentProfile(Base):
    """SKM respondent profile, asked once per person and reused (every field optional)."""

    __tablename__ = "respondent_profiles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    umur: Mapped[str | None] = mapped_column(String(20))
    jenis_kelamin: Mapped[str | None] = mapped_column(String(20))
    pendidikan: Mapped[str | None] = mapped_column(String(20))
    pekerjaan: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime]


class SurveyResponse(Base):
    """One SKM questionnaire. Answers are stored per element code (u1..u9), never by position.

    status: in_progress | complete | abandoned. Only complete ones count in the IKM; a person has
    at most one complete response per unit and period (partial unique index).
    """

    __tablename__ = "survey_responses"
    __table_args__ = (
        Index("ix_survey_unit_finished", "unit_code", "finished_at"),
        Index("ix_survey_opd_finished", "opd_code", "finished_at"),
        Index(
            "uq_survey_once_per_period",
            "user_id",
            "unit_code",
            "period_key",
            unique=True,
            sqlite_where=text("status = 'complete'"),
            postgresql_where=text("status = 'complete'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    opd_code: Mapped[str] = mapped_column(ForeignKey("opds.code"))
    service_code: Mapped[str | None] = mapped_column(ForeignKey("services.code"))
    channel: Mapped[str] = mapped_column(String(16))
    period_key: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default="in_progress")
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    u1: Mapped[int | None] = mapped_column(SmallInteger)
    u2: Mapped[int | None] = mapped_column(SmallInteger)
    u3: Mapped[int | None] = mapped_column(SmallInteger)
    u4: Mapped[int | None] = mapped_column(SmallInteger)
    u5: Mapped[int | None] = mapped_column(SmallInteger)
    u6: Mapped[int | None] = mapped_column(SmallInteger)
    u7: Mapped[int | None] = mapped_column(SmallInteger)
    u8: Mapped[int | None] = mapped_column(SmallInteger)
    u9: Mapped[int | None] = mapped_column(SmallInteger)
    saran: Mapped[str | None] = mapped_column(Text)
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)  # snapshot at answering time


class UnitPopulation(Base):
    """Service users of a unit in a period, set by a coordinator (overrides the region file)."""

    __tablename__ = "unit_populations"
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    population: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[int | None] = mapped_column(BigId)
    set_at: Mapped[datetime]


class Complaint(Base):
    """A pengaduan. ``number`` (ADU-<year>-<seq>) is what people see; states in ``bot.domain.complaint_rules``.

    The reporter is ``citizen_user_id``; with privacy "anonim" no output for officers or
    coordinators ever carries it. Deadlines are computed at filing/routing time with the region's
    working-day calendar, so the SLA sweep is a plain indexed range scan.
    """

    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_queue", "opd_code", "state", "completion_due_at"),
        Index("ix_complaints_state_due", "state", "completion_due_at"),
        Index("ix_complaints_citizen", "citizen_user_id", "filed_at"),
        Index("ix_complaints_notice_due", "notice_due_at"),
        # the jobs' range scans (migration 0005) and the open queue of /antrian (0007)
        Index("ix_complaints_triage_due", "state", "triage_due_at"),
        Index(
            "ix_complaints_response_due",
            "state",
            "response_due_at",
            sqlite_where=text("first_response_at IS NULL"),
            postgresql_where=text("first_response_at IS NULL"),
        ),
        Index("ix_complaints_resolved", "state", "resolved_at"),
        Index(
            "ix_complaints_retention",
            "state",
            "closed_at",
            sqlite_where=text("anonymised_at IS NULL"),
            postgresql_where=text("anonymised_at IS NULL"),
        ),
        Index("ix_complaints_filed", "filed_at"),
        Index(
            "ix_complaints_fixed_check",
            "fixed_check_due_at",
            sqlite_where=text("fixed_asked_at IS NULL"),
            postgresql_where=text("fixed_asked_at IS NULL"),
        ),
        Index(
            "ix_complaints_open_queue",
            "opd_code",
            "completion_due_at",
            "id",
            sqlite_where=text("state IN ('disposisi', 'tindak_lanjut')"),
            postgresql_where=text("state IN ('disposisi', 'tindak_lanjut')"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str | None] = mapped_column(String(24), unique=True)
    citizen_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    address: Mapped[str | None] = mapped_column(String(500))
    privacy: Mapped[str] = mapped_column(String(8), default="biasa")  # biasa | rahasia | anonim
    state: Mapped[str] = mapped_column(String(16))
    opd_code: Mapped[str | None] = mapped_column(ForeignKey("opds.code"))
    suggested_opd: Mapped[str | None] = mapped_column(String(20))
    route_confidence: Mapped[float | None]
    topic: Mapped[str | None] = mapped_column(String(64))
    klass: Mapped[str] = mapped_column("class", String(12), default="keluhan")  # keluhan | sengketa | lapangan
    filed_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    routed_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    triage_due_at: Mapped[datetime | None]
    response_due_at: Mapped[datetime | None]
    completion_due_at: Mapped[datetime | None]
    rating: Mapped[str | None] = mapped_column(String(12))  # puas | tidak_puas
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    anonymised_at: Mapped[datetime | None]
    #: a new-complaint notice batched into a summary, due then (the ``new_complaints`` job, migration 0011)
    notice_due_at: Mapped[datetime | None]
    #: sha256 hex of the reporter's PIN (with the complaint number as salt); the PIN itself is never
    #: stored: number + PIN find the report from any channel or device (migration 0013)
    pin_hash: Mapped[str | None] = mapped_column(String(64))
    # routing (migration 0014): the outside body the router saw (PLN…), why it was left to triage,
    # and the outside body a coordinator closed it to (/luar)
    suggested_outside: Mapped[str | None] = mapped_column(String(20))
    route_reason: Mapped[str | None] = mapped_column(String(32))
    referred_to: Mapped[str | None] = mapped_column(String(20))
    # "Sudah beres?" (migration 0016): when the reporter is to be asked (set at closing), when they
    # were asked (once, ever) and what they answered (sudah | belum)
    fixed_check_due_at: Mapped[datetime | None]
    fixed_asked_at: Mapped[datetime | None]
    fixed_answer: Mapped[str | None] = mapped_column(String(8))


class ComplaintPhoto(Base):
    """A photo as the platform's file reference plus metadata (the bytes stay on the platform)."""

    __tablename__ = "complaint_photos"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    file_ref: Mapped[str] = mapped_column(String(256))
    mime_type: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    caption: Mapped[str | None] = mapped_column(String(1024))
    added_at: Mapped[datetime]


class ComplaintVoice(Base):
    """A voice note (or audio file) of a complaint as the platform's file reference plus its length
    (the bytes stay on the platform, as for photos; migration 0012)."""

    __tablename__ = "complaint_voices"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    file_ref: Mapped[str] = mapped_column(String(256))
    mime_type: Mapped[str | None] = mapped_column(String(64))
    duration: Mapped[int | None] = mapped_column(Integer)  # seconds; None when the platform does not say
    size: Mapped[int | None] = mapped_column(Integer)
    added_at: Mapped[datetime]


class ComplaintEvent(Base):
    """The complaint's history: every transition and message (who, when, what). Shown by /lihat."""

    __tablename__ = "complaint_events"
    __table_args__ = (Index("ix_complaint_events_complaint", "complaint_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor_user_id: Mapped[int | None] = mapped_column(BigId)
    actor_role: Mapped[str] = mapped_column(String(16))  # citizen | officer | coordinator | system
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    opd_code: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    visible_to_citizen: Mapped[bool] = mapped_column(Boolean, default=True)


class ReminderSent(Base):
    """One row per reminder/escalation actually enqueued: the SLA sweep's idempotency key."""

    __tablename__ = "reminders_sent"
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)  # triage | response | completion
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # before | due | overdue | escalation
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # working-day ordinal for repeats
    sent_at: Mapped[datetime]


# ---- FKP: Forum Konsultasi Publik (migration 0006) -------------------------------------------


class Forum(Base):
    """A public consultation forum of one OPD. Upcoming/past follows from ``starts_at``; the
    berita acara (``result_*``) is published once. ``data_from``/``data_to`` is the period whose
    SKM and complaint data proposed the agenda (it also bounds who receives the berita acara)."""

    __tablename__ = "forums"
    __table_args__ = (
        Index("ix_forums_status_starts", "status", "starts_at"),
        Index("ix_forums_opd_starts", "opd_code", "starts_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    opd_code: Mapped[str] = mapped_column(ForeignKey("opds.code"))
    title: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    place: Mapped[str | None] = mapped_column(String(500))
    online_url: Mapped[str | None] = mapped_column(String(500))
    capacity: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    agenda: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="published")  # published | cancelled
    data_period_key: Mapped[str | None] = mapped_column(String(32))
    data_from: Mapped[datetime | None]
    data_to: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(BigId)
    created_via: Mapped[str] = mapped_column(String(8), default="chat")  # chat | cli
    created_at: Mapped[datetime]
    announced: Mapped[int] = mapped_column(Integer, default=0)  # subscribers told at publication
    result_text: Mapped[str | None] = mapped_column(Text)
    result_photo_ref: Mapped[str | None] = mapped_column(String(256))
    result_photo_channel: Mapped[str | None] = mapped_column(String(16))
    result_photo_mime: Mapped[str | None] = mapped_column(String(64))
    result_by: Mapped[int | None] = mapped_column(BigId)
    result_published_at: Mapped[datetime | None]
    result_recipients: Mapped[int | None] = mapped_column(Integer)


class ForumRsvp(Base):
    """A registration ("Daftar"). Cancelling keeps the row (status cancelled); registering again
    reuses it. Reminders sent are recorded in ``forum_reminders``."""

    __tablename__ = "forum_rsvps"
    __table_args__ = (Index("ix_forum_rsvps_user", "user_id"),)
    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="registered")  # registered | cancelled
    registered_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]


class ForumReminder(Base):
    """One row per forum reminder enqueued (``kind`` "day_before"): the primary key is the
    reminder job's idempotency key, so a person is reminded of a forum once, whatever runs."""

    __tablename__ = "forum_reminders"
    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    sent_at: Mapped[datetime]


class ForumInput(Base):
    """Written input before a forum. With ``anonymous`` no output for staff or exports ever
    carries ``user_id`` (kept only to limit inputs per person and for /hapusdata)."""

    __tablename__ = "forum_inputs"
    __table_args__ = (Index("ix_forum_inputs_forum", "forum_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime]


class ForumSubscription(Base):
    """Opt-in to forum news: ``scope`` is "region" (every forum) or an OPD code. A subscription
    is the citizen's agreement to be contacted: announcements, and the berita acara of forums
    on an OPD they filed a complaint or survey about."""

    __tablename__ = "forum_subscriptions"
    __table_args__ = (Index("ix_forum_subscriptions_scope", "scope"),)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(20), primary_key=True)
    created_at: Mapped[datetime]


class LaporQueueRow(Base):
    """A call to SP4N-LAPOR! waiting to be made (migration 0015): written in the same transaction as
    the complaint change it reports, sent in order per complaint by the ``lapor_sync`` job.
    ``kind``: create | answer | followup | status. ``status``: pending | done | failed (a final
    refusal, ``last_error`` kept for the coordinators) | skipped. ``payload`` holds what the call
    needs beyond the complaint row (an answer's text): emptied when the complaint is erased."""

    __tablename__ = "lapor_queue"
    __table_args__ = (
        Index("ix_lapor_queue_due", "status", "due_at"),
        Index("ix_lapor_queue_complaint", "complaint_id", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(8), default="pending")
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    done_at: Mapped[datetime | None]


class LaporLink(Base):
    """A complaint's SP4N-LAPOR! report (migration 0015): its ``TrackingID``, where it began
    (``origin`` kanal | lapor) and the last LAPOR! status pulled for it."""

    __tablename__ = "lapor_links"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), unique=True)
    tracking_id: Mapped[str] = mapped_column(String(64), unique=True)
    origin: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    lapor_status: Mapped[str | None] = mapped_column(String(32))
    pulled_at: Mapped[datetime | None]


class LaporState(Base):
    """The bridge's own state (migration 0015), one row per name: the updates cursor, the last
    pull and its outcome, the instant before which nothing is sent (an outage's backoff)."""

    __tablename__ = "lapor_state"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime]


class ComplaintFollower(Base):
    """A citizen who follows another person's open complaint instead of filing the same problem
    again (migration 0017): they get its updates, never its reporter's identity. Deleted with the
    person (erasure, retention) and with the complaint."""

    __tablename__ = "complaint_followers"
    __table_args__ = (
        UniqueConstraint("complaint_id", "user_id"),
        Index("ix_complaint_followers_user", "user_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    since: Mapped[datetime]


class ReplyTemplate(Base):
    """An officer's reply template added with ``/templat tambah`` (migration 0017): ``opd_code`` is
    the OPD whose officers are offered it, or ``*`` for every OPD (added by a coordinator). The
    region file's templates are not stored here (they are read from the region context)."""

    __tablename__ = "reply_templates"
    __table_args__ = (UniqueConstraint("opd_code", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    opd_code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class RateBudget(Base):
    """A platform's sending budget shared by the instances on one PostgreSQL (migration 0018): a
    token bucket whose ``tokens`` were counted at ``updated_at`` (the server's clock), see
    ``storage/rate_repo.py``. Not used on SQLite (one process per file)."""

    __tablename__ = "rate_budgets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime]


class SmsNumber(Base):
    """The phone number behind an SMS person's key (migration 0019). ``users.external_id`` of an
    SMS person is a keyed hash of their number (``bot/channels/sms``); the number itself is kept
    only here, to send to. ``opted_out``: STOP/BERHENTI (no notifications, replies still go).
    Erasure sets ``erased_at``: the row goes once the goodbye is sent, or an hour later at most."""

    __tablename__ = "sms_numbers"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_at: Mapped[datetime]
    erased_at: Mapped[datetime | None] = mapped_column(index=True)


class SmsUsage(Base):
    """SMS sent, in segments, per day (``key`` ""): the month's cost estimate; and per person's
    key and day: the daily cap (``capped``: the "limit reached" notice went out). Per-person rows
    are pruned after two days and deleted with the person (migration 0019)."""

    __tablename__ = "sms_usage"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, region time
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    segments: Mapped[int] = mapped_column(Integer, default=0)
    capped: Mapped[bool] = mapped_column(Boolean, default=False)
