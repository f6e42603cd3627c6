"""The tables, as SQLAlchemy 2 typed models. Migrations live in distribute/migrations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (JSON, BigInteger, DateTime, ForeignKey, Index, Integer, MetaData, String, Text, TypeDecorator,
                        UniqueConstraint, func, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so put it back on load)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: UTCDateTime}


class Release(Base):
    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    subtitle: Mapped[str | None] = mapped_column(String(500))
    label: Mapped[str | None] = mapped_column(String(200))  # "MEDIA ADVISORY", as written
    dateline: Mapped[str | None] = mapped_column(String(200))  # the place, as written
    dateline_dash: Mapped[str | None] = mapped_column(String(8))
    release_date: Mapped[dt.date | None]
    embargo_until: Mapped[dt.datetime | None]
    language: Mapped[str] = mapped_column(String(16), default="en")
    # Markdown, or (source_format "text") paragraphs and "- item" / "1. item" lists between blank
    # lines: see distribute.releases.content.blocks.
    body: Mapped[str] = mapped_column(Text)
    # [{"name", "title", "organisation", "email", "phones": [...]}, ...]; Reply-To is the first's email.
    contacts: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    boilerplate_heading: Mapped[str | None] = mapped_column(String(500))  # "About …", as written
    boilerplate: Mapped[str | None] = mapped_column(Text)
    cta_label: Mapped[str | None] = mapped_column(String(200))
    cta_url: Mapped[str | None] = mapped_column(String(2000))
    end_mark: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")  # notes to editors
    source_format: Mapped[str] = mapped_column(String(16))  # markdown | text
    # SHA-256 of what was read (every field above but the slug): the same text added twice is
    # found by it, and stored once.
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime | None]


# The values Contact.kind and Contact.status take.
KINDS = ("journalist", "supporter")
STATUSES = ("active", "unsubscribed", "bounced", "complained")


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_kind_status", "kind", "status"),
        # The staff app's search: a prefix of the address, the name or the outlet, any case. The
        # pattern operator class lets PostgreSQL use them for LIKE 'abc%' whatever the collation.
        Index("ix_contacts_email_prefix", "email_key", postgresql_ops={"email_key": "varchar_pattern_ops"}),
        Index("ix_contacts_name_prefix", func.lower(text("name")).label("name_lower"),
              postgresql_ops={"name_lower": "text_pattern_ops"}),
        Index("ix_contacts_outlet_prefix", func.lower(text("outlet")).label("outlet_lower"),
              postgresql_ops={"outlet_lower": "text_pattern_ops"}),
        Index("ix_contacts_language", "language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    # The whole address lowercased: the key duplicates are found by.
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))  # journalist | supporter
    outlet: Mapped[str | None] = mapped_column(String(300))
    beat: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    place: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | unsubscribed | bounced | complained
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ContactTag(Base):
    __tablename__ = "contact_tags"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class ContactList(Base):
    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ListMember(Base):
    __tablename__ = "list_members"

    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True)


class Segment(Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    rule: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Suppression(Base):
    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    reason: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(32))  # manual | import | unsubscribe | hard-bounce | complaint
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Campaign(Base):
    """One release sent to one audience with one variant. Its state moves by campaigns.TRANSITIONS."""

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_state_scheduled_at", "state", "scheduled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)  # random: names the campaign in List-Id and outbox
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    variant: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    audience: Mapped[dict[str, Any]]  # {"segments": [...], "lists": [...], "test": [...emails]}
    is_test: Mapped[bool] = mapped_column(default=False)
    # `send --again`: mail addresses that already have this release from another campaign.
    again: Mapped[bool] = mapped_column(default=False)
    scheduled_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime | None]
    fanned_out_at: Mapped[dt.datetime | None]  # every recipient has its Delivery row
    resumed_at: Mapped[dt.datetime | None]  # the circuit breaker judges only what came after it
    finished_at: Mapped[dt.datetime | None]
    compiled: Mapped[dict[str, Any] | None]  # the CompiledMessage, made once when sending starts
    # Open pixel and click rewriting. Journalists often prefer untracked mail: `send --no-track`.
    track: Mapped[bool] = mapped_column(default=True)
    state_reason: Mapped[str | None] = mapped_column(String(1000))  # why it paused, failed, was cancelled
    # The relay could not be reached: sending holds until wait_until, and goes on by itself then
    # (distribute.relay_wait). wait_since is when the outage began; wait_reason what the relay said.
    wait_since: Mapped[dt.datetime | None]
    wait_until: Mapped[dt.datetime | None]
    wait_reason: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# The predicates of the stats' partial indexes, written once: a query uses such an index only when
# its WHERE says the same (distribute.stats.campaign builds its WHERE from these strings).
ERROR_STATES_SQL = "state IN ('deferred', 'bounced', 'failed', 'unknown')"
DETAIL_SQL = ("opens > 0 OR clicks > 0 OR unsubscribed_at IS NOT NULL OR complained_at IS NOT NULL "
              "OR state IN ('bounced', 'complained', 'failed', 'unknown')")


class Delivery(Base):
    """One recipient of one campaign. The row is the truth about that message."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "email_key"),  # at most one message per address per campaign
        Index("ix_deliveries_campaign_state", "campaign_id", "state", "id"),
        Index("ix_deliveries_state_lease", "state", "lease_until"),
        # What the stats show, read through indexes (distribute.stats.campaign): the first and last
        # sending time, the last errors, and the recipients with something to show.
        Index("ix_deliveries_campaign_sent_at", "campaign_id", "sent_at"),
        Index("ix_deliveries_campaign_errors", "campaign_id", "updated_at", "id",
              postgresql_where=text(ERROR_STATES_SQL), sqlite_where=text(ERROR_STATES_SQL)),
        Index("ix_deliveries_campaign_detail", "campaign_id", "id",
              postgresql_where=text(DETAIL_SQL), sqlite_where=text(DETAIL_SQL)),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # Indexed: a contact's page lists its deliveries, and erasing a contact clears them.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)  # public, random: used in links and Message-ID
    # A snapshot of the recipient at fan-out: what was sent stays true if the contact changes.
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(300))
    outlet: Mapped[str | None] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    # Who holds the row and until when: set when queued on the broker and when claimed.
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    lease_until: Mapped[dt.datetime | None]
    # Set just before the SMTP transaction, cleared with its outcome: a crash in between leaves
    # it set, and the reconciler then knows the message's fate is unknown.
    attempt_started_at: Mapped[dt.datetime | None]
    next_attempt_at: Mapped[dt.datetime | None]
    first_attempt_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    last_code: Mapped[int | None]
    last_reply: Mapped[str | None] = mapped_column(String(1000))
    message_id: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The summary of what came back, kept by distribute.feedback.events from the events.
    bounce_kind: Mapped[str | None] = mapped_column(String(8))  # hard | soft | block
    opens: Mapped[int] = mapped_column(default=0)
    human_opens: Mapped[int] = mapped_column(default=0)
    first_opened_at: Mapped[dt.datetime | None]
    first_human_open_at: Mapped[dt.datetime | None]
    clicks: Mapped[int] = mapped_column(default=0)
    first_clicked_at: Mapped[dt.datetime | None]
    unsubscribed_at: Mapped[dt.datetime | None]
    complained_at: Mapped[dt.datetime | None]


class Event(Base):
    """Something that happened to a delivery; append-only, with its source and raw data."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_delivery_at", "delivery_id", "at"),
        Index("ix_events_campaign_type", "campaign_id", "type"),
        Index("ix_events_at", "at"),  # the retention purge
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(24))  # smtp | outbox | reconciler | operator | dsn | webhook …
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any] | None]
    # The same signal twice (a webhook retried, a DSN read again) carries the same key: the
    # unique index makes the second a no-op.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Raw tracking data, purged after DISTRIBUTE_RETENTION_DAYS: the provider's payload or the
    # report's text, the user agent, the IP address (truncated before it is stored).
    raw: Mapped[dict[str, Any] | None]
    user_agent: Mapped[str | None] = mapped_column(String(500))
    ip: Mapped[str | None] = mapped_column(String(64))


class CampaignCounter(Base):
    """A campaign's running totals (deliveries per state, feedback, clicks per link), kept by
    distribute.deliveries in the transaction of every change they count. A total is the sum over
    its shards: each database connection adds to its own shard, so sender threads and web
    processes do not queue on one row."""

    __tablename__ = "campaign_counters"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class DomainCounter(Base):
    """A campaign's deliveries per recipient domain and state, kept like CampaignCounter. The
    state `total` is written only when deliveries are created, always in shard 0, so the largest
    domains are read in order from an index."""

    __tablename__ = "domain_counters"
    __table_args__ = (Index("ix_domain_counters_rank", "campaign_id", "state", "value", "domain"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class OutletCounter(Base):
    """A campaign's deliveries per outlet (the recipient's publication, where known), kept like
    DomainCounter: `name` is a delivery state, `total` (shard 0 only, for the ranking's index), or
    `opened` / `clicked` (recipients who did, added by the event writer)."""

    __tablename__ = "outlet_counters"
    __table_args__ = (Index("ix_outlet_counters_rank", "campaign_id", "name", "value", "outlet"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    outlet: Mapped[str] = mapped_column(String(300), primary_key=True)
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class HourCounter(Base):
    """A campaign's messages sent, opens and clicks per hour (UTC): the results page's time chart.
    `name` is `sent` (deliveries by the hour of their sent_at), `opened` or `clicked` (events by
    the hour they happened). Sharded like CampaignCounter."""

    __tablename__ = "hour_counters"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    hour: Mapped[dt.datetime] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class WebhookToken(Base):
    """A webhook signature token already used, kept until its timestamp could no longer pass
    (Mailgun signs a token, not the event: distribute.feedback.webhooks.mailgun, distribute.web.public.replay).
    Used when there is no Redis; expired rows are purged by the web processes."""

    __tablename__ = "webhook_tokens"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the event the token was used for
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class User(Base):
    """Someone who signs in to the staff app or holds an API token. The role decides what they may
    do (distribute.services.actor); the CLI acts as the local operator and needs no row."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # normalised, lower-case
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))  # admin | comms | viewer
    password_hash: Mapped[str | None] = mapped_column(String(200))  # argon2id; None until set by a reset link
    # Bumped on every password change, reset and "sign out everywhere": a session carries the
    # value it was opened with, and one that no longer matches has ended.
    session_epoch: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]


class ApiToken(Base):
    """A bearer token for the JSON API. Only its SHA-256 is stored: the token is 256 random bits,
    so a fast hash is enough, and it is shown once, when created."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # never above its user's
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart in a list
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class AuditEntry(Base):
    """One change made through a service, with who made it. Append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The actor as it was named then (an email, "operator:alice"), so the entry reads the same
    # after the user is removed; the id links to the user while it exists.
    actor: Mapped[str] = mapped_column(String(320))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    via: Mapped[str] = mapped_column(String(16))  # cli | web | api | worker
    action: Mapped[str] = mapped_column(String(64), index=True)  # "release.add", "user.role" …
    target: Mapped[str | None] = mapped_column(String(500))  # "release:gaza-water", "user:3"
    detail: Mapped[dict[str, Any] | None]


class ImportJob(Base):
    """A CSV import started from the staff app or the API: it runs apart from the request, and its
    progress and report are kept here so that any web process can answer "how far is it"."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(320))
    file_name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    list_name: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16))  # running | done | failed
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    report: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
