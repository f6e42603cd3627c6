from sqlalchemy import inspect

from distribute.db import upgrade


def test_migrations_create_every_table_and_are_idempotent(db):
    upgrade(db.engine)  # a second run is a no-op
    tables = set(inspect(db.engine).get_table_names())
    assert {"releases", "contacts", "contact_tags", "lists", "list_members", "segments", "suppressions"} <= tables
    assert "alembic_version" in tables


def test_init_command(run_cli):
    result = run_cli("init")
    assert result.exit_code == 0, result.output
    assert "database ready" in result.output
