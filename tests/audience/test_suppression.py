"""The suppression list, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from distribute.errors import UserError
from distribute.models import Contact, Suppression
from distribute.audience.suppression import (
    BATCH_SIZE,
    NotSuppressed,
    import_suppressions,
    is_suppressed,
    list_suppressions,
    suppress,
    unsuppress,
)


def rows(db) -> dict[str, tuple[str, str]]:
    with db.sessions() as session:
        return {s.email_key: (s.reason, s.source) for s in session.scalars(select(Suppression))}


def test_suppress_adds_reports_already_and_invalid(db):
    with db.sessions() as session, session.begin():
        report = suppress(session, ["Jane@Example.org", "not-an-address", "tom@example.org"], "asked by phone")
    assert report.added == ["jane@example.org", "tom@example.org"]
    assert report.already == []
    assert [(r.value, r.line) for r in report.invalid] == [("not-an-address", None)]
    assert "An email address must have an @-sign" in report.invalid[0].reason
    assert rows(db) == {"jane@example.org": ("asked by phone", "manual"), "tom@example.org": ("asked by phone", "manual")}

    with db.sessions() as session, session.begin():
        report = suppress(session, ["JANE@EXAMPLE.ORG", "Sam <sam@Example.org>", "sam@example.org", ""], "bounced", "hard-bounce")
    assert report.added == ["sam@example.org"]
    assert report.already == ["jane@example.org"]
    assert report.repeated == 1
    assert [r.reason for r in report.invalid] == ["empty email address"]
    # The first reason stays.
    assert rows(db)["jane@example.org"] == ("asked by phone", "manual")
    assert rows(db)["sam@example.org"] == ("bounced", "hard-bounce")


def test_suppress_refuses_bad_reason_or_source(db):
    with db.sessions() as session:
        with pytest.raises(UserError, match="give a reason"):
            suppress(session, ["a@example.org"], "  ")
        with pytest.raises(UserError, match="unknown suppression source 'spam'"):
            suppress(session, ["a@example.org"], "x", source="spam")
        with pytest.raises(UserError, match="keep it under 500"):
            suppress(session, ["a@example.org"], "x" * 501)
    assert rows(db) == {}


def test_is_suppressed_and_unsuppress(db):
    with db.sessions() as session, session.begin():
        suppress(session, ["jane@example.org"], "asked")
        assert is_suppressed(session, "jane@example.org")
        assert is_suppressed(session, " JANE@example.org ")
        assert not is_suppressed(session, "tom@example.org")
        removed = unsuppress(session, "Jane@Example.org")
        assert (removed.email_key, removed.reason) == ("jane@example.org", "asked")
        assert not is_suppressed(session, "jane@example.org")
        with pytest.raises(NotSuppressed, match="tom@example.org is not on the suppression list"):
            unsuppress(session, "tom@example.org")


def test_import_plain_list_reports_bad_lines_and_keeps_good_ones(db, tmp_path):
    path = tmp_path / "bounces.txt"
    path.write_text("# exported from the old ESP\na@example.org\n\nnot valid\nB@example.org\na@example.org\n@x\n", "utf-8")
    with db.sessions() as session, session.begin():
        suppress(session, ["b@example.org"], "earlier")
        report = import_suppressions(session, path, "old ESP")
    assert report.added == ["a@example.org"]
    assert report.already == ["b@example.org"]
    assert report.repeated == 1
    assert [(r.line, r.value) for r in report.invalid] == [(4, "not valid"), (7, "@x")]
    assert rows(db) == {"a@example.org": ("old ESP", "import"), "b@example.org": ("earlier", "manual")}


def test_import_csv_with_an_email_column(db, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(
        "\ufeffName;E-mail;Note\n"
        "Jane;jane@example.org;x\n"
        '"Tom; the elder";tom@example.org;"two\nlines"\n'
        "Nobody;;\n"
        "Bad;bad@;\n"
        "Zed;zed@example.org\n",
        "utf-8",
    )
    with db.sessions() as session, session.begin():
        report = import_suppressions(session, path, "complained", source="complaint")
    assert report.added == ["jane@example.org", "tom@example.org", "zed@example.org"]
    assert [(r.line, r.value) for r in report.invalid] == [(5, ""), (6, "bad@")]
    assert rows(db)["zed@example.org"] == ("complained", "complaint")


def test_import_single_column_with_header_and_from_a_stream(db):
    with db.sessions() as session, session.begin():
        report = import_suppressions(session, io.StringIO("email\r\nA@example.org\r\n"), "x")
    assert report.added == ["a@example.org"] and report.invalid == []


def test_import_refuses_a_csv_without_email_column_and_non_utf8(db, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,address\nJane,jane@example.org\n", "utf-8")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("jos\xe9@example.org\n".encode("latin-1"))
    with db.sessions() as session:
        with pytest.raises(UserError, match="looks like a CSV file but has no email column .*name, address"):
            import_suppressions(session, path, "x")
        with pytest.raises(UserError, match="is not UTF-8 text"):
            import_suppressions(session, latin, "x")
        with pytest.raises(UserError, match="cannot read .*missing.txt"):
            import_suppressions(session, path.parent / "missing.txt", "x")
    assert rows(db) == {}


def test_bulk_import_in_batches_skips_existing_keys(db, tmp_path):
    total = BATCH_SIZE * 2 + 17
    path = tmp_path / "many.txt"
    path.write_text("".join(f"user{i}@example.org\n" for i in range(total)), "utf-8")
    already = [f"user{i}@example.org" for i in range(0, total, 97)]
    with db.sessions() as session, session.begin():
        suppress(session, already, "earlier")
        report = import_suppressions(session, path, "bulk")
    assert len(report.added) == total - len(already)
    assert sorted(report.already) == sorted(already)
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Suppression)) == total
        assert session.scalar(select(Suppression.reason).where(Suppression.email_key == "user97@example.org")) == "earlier"


def test_list_suppressions_filters(db):
    with db.sessions() as session, session.begin():
        suppress(session, ["b@example.org", "a@example.org"], "asked")
        suppress(session, ["c@other.org"], "bounced", source="hard-bounce")
        assert [s.email_key for s in list_suppressions(session)] == ["a@example.org", "b@example.org", "c@other.org"]
        assert [s.email_key for s in list_suppressions(session, source="hard-bounce")] == ["c@other.org"]
        assert [s.email_key for s in list_suppressions(session, search="EXAMPLE", limit=1)] == ["a@example.org"]


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_suppress_with_one_invalid_address_among_good_ones(run_cli, db):
    result = run_cli("suppress", "jane@example.org", "nope", "Tom@Example.org", "--reason", "asked by phone")
    assert result.exit_code == 0, result.output
    assert "suppressed 2 new addresses" in result.output
    assert "1 invalid, not suppressed:" in result.output
    assert "invalid email address 'nope'" in result.output
    assert set(rows(db)) == {"jane@example.org", "tom@example.org"}

    result = run_cli("suppress", "jane@example.org", "x@", "--reason", "again", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"added", "already", "invalid", "repeated"}
    assert data["added"] == [] and data["already"] == ["jane@example.org"]
    assert [(i["line"], i["value"]) for i in data["invalid"]] == [(None, "x@")]
    assert "x@" in data["invalid"][0]["reason"]


def test_cli_suppress_all_invalid_or_nothing_given_is_an_error(run_cli, db):
    result = run_cli("suppress", "nope", "--reason", "x")
    assert result.exit_code == 1
    assert "Error: none of the addresses given is valid; nothing was suppressed" in result.output
    result = run_cli("suppress", "--reason", "x")
    assert result.exit_code == 1
    assert "Error: give at least one EMAIL or --file FILE" in result.output
    assert rows(db) == {}


def test_cli_suppress_from_file_and_stdin(run_cli, db, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("email,name\na@example.org,A\nbroken,B\n", "utf-8")
    result = run_cli("suppress", "--file", path, "--reason", "old list")
    assert result.exit_code == 0, result.output
    assert "line 3: invalid email address 'broken'" in result.output
    result = run_cli("suppress", "--file", "-", "--reason", "piped", "--json", input="b@example.org\n")
    assert json.loads(result.output)["added"] == ["b@example.org"]
    assert rows(db) == {"a@example.org": ("old list", "import"), "b@example.org": ("piped", "import")}


def test_cli_suppressions_list_and_remove(run_cli, db):
    with db.sessions() as session, session.begin():
        session.add(Contact(email="jane@example.org", email_key="jane@example.org", kind="supporter", status="unsubscribed"))
        suppress(session, ["jane@example.org"], "unsubscribed", source="unsubscribe")
    result = run_cli("suppressions", "list", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [{k: v for k, v in row.items() if k != "created_at"} for row in listed] == [
        {"email": "jane@example.org", "reason": "unsubscribed", "source": "unsubscribe"}
    ]
    assert listed[0]["created_at"].startswith("20")

    result = run_cli("suppressions", "remove", "Jane@Example.org")
    assert result.exit_code == 0, result.output
    assert "removed jane@example.org from the suppression list" in result.output
    assert "still marked unsubscribed" in result.output
    assert rows(db) == {}

    result = run_cli("suppressions", "remove", "jane@example.org")
    assert result.exit_code == 1
    assert "Error: jane@example.org is not on the suppression list" in result.output
