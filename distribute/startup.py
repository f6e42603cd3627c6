"""What a process checks before it starts serving: settings that can work, a database it can
reach with the current schema, and for Celery a broker to listen on. A process that cannot work
stops at once with one line saying why, rather than starting and failing every task for minutes."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from distribute.config import ENV_PREFIX, ConfigError, Settings, load_settings
from distribute.db import make_engine, schema_is_current

CONNECT_TIMEOUT = 10  # seconds an unreachable database server may take to say so


def check_database(settings: Settings, *, schema: bool = True, engine: Engine | None = None) -> None:
    """The database answers and (unless schema=False) its schema is this version's; a
    ConfigError otherwise. With the caller's `engine` (made with CONNECT_TIMEOUT), the connection
    the check opens stays in its pool for the work that follows; by default the check makes its own."""
    own = engine is None
    if engine is None:
        engine = make_engine(settings.database_url, connect_timeout=CONNECT_TIMEOUT)
    where = engine.url.render_as_string(hide_password=True)
    try:
        current = schema_is_current(engine)
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise ConfigError(f"cannot reach the database {where} ({ENV_PREFIX}DATABASE_URL): {reason}") from None
    finally:
        if own:
            engine.dispose()
    if schema and not current:
        raise ConfigError(f"the database {where} has no schema or an older one: run `distribute init` first")


def celery_settings_or_exit() -> Settings:
    """For `celery -A worker worker|beat`: the settings, or exit 1 with the reason."""
    try:
        settings = load_settings()
        if not settings.broker_url:
            raise ConfigError(f"{ENV_PREFIX}BROKER_URL is not set: Celery workers and beat need a broker such as "
                              "redis://host:6379/0 (without one, `distribute send` and `distribute run` work "
                              "on their own)")
        check_database(settings)
    except ConfigError as exc:
        raise SystemExit(f"distribute: {exc}") from None
    return settings
