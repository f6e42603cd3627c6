"""The rule language, saved segments and audiences, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from distribute.audience.resolve import (
    audience_query,
    count_audience,
    count_matching,
    recipients_of,
    segment_contact_ids,
)
from distribute.errors import UserError
from distribute.models import Contact, ContactList, ContactTag, ListMember, Segment, Suppression
from distribute.audience.segments import (
    EXAMPLE_RULE,
    And,
    Condition,
    Not,
    Or,
    RuleError,
    SegmentExists,
    SegmentNotFound,
    UnknownList,
    add_segment,
    compile_rule,
    get_segment,
    list_segments,
    parse_rule,
    remove_segment,
)
from distribute.audience.suppression import suppress

# (email, kind, name, outlet, beat, status, attributes, tags)
PEOPLE = [
    ("alice@example.org", "journalist", "Alice Ahmed", "The Times", "Middle East", "active",
     {"country": "UK", "twitter": "@alice", "followers": 1200}, ["gaza"]),
    ("bob@news.example.com", "journalist", "Bob Brown", "BBC News", "human rights", "active", {}, ["do-not-pitch"]),
    ("carol@example.org", "journalist", "Carol Chen", None, "Climate", "active", {"country": "DE"}, []),
    ("dan@example.net", "supporter", "Dan Dorn", None, "middle east", "active", {"country": "FR"}, []),
    ("erin@example.org", "journalist", "Erin Eze", "Al Jazeera", "MIDDLE EAST", "active", {}, ["gaza", "do-not-pitch"]),
    ("faye@example.org", "journalist", None, None, None, "active", {}, []),
    ("Gus@Example.org", "journalist", "Gus Gray", "Reuters", "Human Rights", "unsubscribed", {}, []),
    ("hal@example.com", "journalist", "Hal O'Brien", "100% News", "human rights & media", "active", {}, ["press"]),
    ("ivy@example.org", "journalist", "Ivy Iqbal", "AP", "Human Rights", "active", {}, []),
]  # fmt: skip
EVERYONE = {p[0].lower() for p in PEOPLE}
LISTS = {"Gaza Desk": ["alice@example.org", "bob@news.example.com"], "Newsletter": ["dan@example.net", "alice@example.org"]}


@pytest.fixture
def people(db):
    with db.sessions() as session, session.begin():
        ids = {}
        for email, kind, name, outlet, beat, status, attributes, tags in PEOPLE:
            contact = Contact(
                email=email, email_key=email.lower(), kind=kind, name=name, outlet=outlet, beat=beat,
                status=status, attributes=attributes, language="en", region="MENA" if "gaza" in tags else None,
            )  # fmt: skip
            session.add(contact)
            session.flush()
            ids[email.lower()] = contact.id
            session.add_all(ContactTag(contact_id=contact.id, tag=tag) for tag in tags)
        for list_name, members in LISTS.items():
            contact_list = ContactList(name=list_name)
            session.add(contact_list)
            session.flush()
            session.add_all(ListMember(list_id=contact_list.id, contact_id=ids[m]) for m in members)
    return ids


def matching(db, rule: str) -> set[str]:
    with db.sessions() as session:
        expression = compile_rule(rule, session)
        return set(session.scalars(select(Contact.email_key).where(expression)))


# ---------------------------------------------------------------------------------------------
# Matching


def test_example_rule_matches_exactly_the_expected_contacts(db, people):
    # bob and erin carry do-not-pitch, dan is a supporter, hal's beat is not one of the two.
    assert matching(db, EXAMPLE_RULE) == {"alice@example.org", "gus@example.org", "ivy@example.org"}


def test_values_fields_and_keywords_ignore_case(db, people):
    assert matching(db, 'beat = "middle EAST"') == {"alice@example.org", "dan@example.net", "erin@example.org"}
    assert matching(db, "Kind = JOURNALIST AnD Tag = GAZA") == {"alice@example.org", "erin@example.org"}
    assert matching(db, "email = GUS@EXAMPLE.ORG") == {"gus@example.org"}
    assert matching(db, "KIND IN (Supporter)") == {"dan@example.net"}


def test_in_and_not_in_and_missing_values(db, people):
    assert matching(db, 'beat in ("middle east", climate)') == {
        "alice@example.org", "carol@example.org", "dan@example.net", "erin@example.org",
    }  # fmt: skip
    # A contact with no beat is "not in" any set of beats: NULL never hides a contact.
    assert matching(db, 'beat not in ("middle east", "human rights")') == {
        "carol@example.org", "faye@example.org", "hal@example.com",
    }  # fmt: skip
    assert matching(db, 'beat != "middle east"') == EVERYONE - {"alice@example.org", "dan@example.net", "erin@example.org"}
    assert matching(db, 'not beat = "middle east"') == matching(db, 'beat != "middle east"')


def test_contains_startswith_endswith_and_domain(db, people):
    assert matching(db, 'outlet contains "bbc"') == {"bob@news.example.com"}
    assert matching(db, "name contains o'brien") == {"hal@example.com"}
    # % and _ are literal characters, not LIKE wildcards.
    assert matching(db, 'outlet contains "%"') == {"hal@example.com"}
    assert matching(db, 'name contains "_"') == set()
    assert matching(db, "outlet not contains news") == EVERYONE - {"bob@news.example.com", "hal@example.com"}
    assert matching(db, 'name startswith "al"') == {"alice@example.org"}
    assert matching(db, "email endswith .NET") == {"dan@example.net"}
    assert matching(db, "domain = Example.ORG") == {
        "alice@example.org", "carol@example.org", "erin@example.org", "faye@example.org",
        "gus@example.org", "ivy@example.org",
    }  # fmt: skip
    assert matching(db, "domain in (example.com, example.net)") == {"hal@example.com", "dan@example.net"}
    assert matching(db, "domain endswith example.com") == {"hal@example.com", "bob@news.example.com"}


def test_is_empty_and_is_not_empty(db, people):
    assert matching(db, "beat is empty") == {"faye@example.org"}
    assert matching(db, "outlet is empty") == {"carol@example.org", "dan@example.net", "faye@example.org"}
    assert matching(db, "outlet is not empty") == EVERYONE - matching(db, "outlet is empty")
    assert matching(db, "tag is empty") == EVERYONE - {
        "alice@example.org", "bob@news.example.com", "erin@example.org", "hal@example.com",
    }  # fmt: skip
    assert matching(db, "list is not empty") == {"alice@example.org", "bob@news.example.com", "dan@example.net"}


def test_attributes(db, people):
    assert matching(db, "attr.country = uk") == {"alice@example.org"}
    assert matching(db, "attributes.country in (de, fr)") == {"carol@example.org", "dan@example.net"}
    assert matching(db, "attr.country != UK") == EVERYONE - {"alice@example.org"}
    assert matching(db, 'attr."twitter" startswith "@"') == {"alice@example.org"}
    assert matching(db, "attr.country is empty") == EVERYONE - {
        "alice@example.org", "carol@example.org", "dan@example.net",
    }  # fmt: skip
    assert matching(db, "attr.nobody_has_this is empty") == EVERYONE
    assert matching(db, "attr.followers = 1200") == {"alice@example.org"}  # a JSON number, read as text


def test_tags(db, people):
    assert matching(db, "tag = gaza") == {"alice@example.org", "erin@example.org"}
    assert matching(db, "tag != gaza") == EVERYONE - {"alice@example.org", "erin@example.org"}
    assert matching(db, 'tag in (gaza, "do-not-pitch")') == {"alice@example.org", "bob@news.example.com", "erin@example.org"}
    assert matching(db, "tag not in (gaza, press)") == EVERYONE - {"alice@example.org", "erin@example.org", "hal@example.com"}
    assert matching(db, "tag startswith do-") == {"bob@news.example.com", "erin@example.org"}
    assert matching(db, "tag = gaza and tag = do-not-pitch") == {"erin@example.org"}


def test_lists(db, people):
    assert matching(db, 'list = "gaza desk"') == {"alice@example.org", "bob@news.example.com"}
    assert matching(db, 'list in ("Gaza Desk", newsletter)') == {
        "alice@example.org", "bob@news.example.com", "dan@example.net",
    }  # fmt: skip
    assert matching(db, 'list != "Gaza Desk"') == EVERYONE - {"alice@example.org", "bob@news.example.com"}
    assert matching(db, 'list = "Gaza Desk" and list = Newsletter') == {"alice@example.org"}


def test_precedence_not_then_and_then_or_and_brackets(db, people):
    gaza = {"alice@example.org", "erin@example.org"}
    assert matching(db, "kind = supporter or kind = journalist and tag = gaza") == {"dan@example.net"} | gaza
    assert matching(db, "(kind = supporter or kind = journalist) and tag = gaza") == gaza
    assert matching(db, 'not kind = journalist and beat = "middle east"') == {"dan@example.net"}
    assert matching(db, 'not (kind = journalist and beat = "middle east")') == EVERYONE - gaza
    assert matching(db, "not not tag = gaza") == gaza
    assert matching(db, "tag = gaza or tag = press and not kind = journalist") == gaza

    rule = parse_rule("kind = supporter or kind = journalist and not tag = gaza")
    assert str(rule) == 'kind = "supporter" or (kind = "journalist" and not tag = "gaza")'
    assert rule.root == Or(
        (
            Condition("kind", "=", ("supporter",)),
            And((Condition("kind", "=", ("journalist",)), Not(Condition("tag", "=", ("gaza",))))),
        )
    )


def test_values_are_bound_parameters_never_sql(db, people):
    assert matching(db, "name = \"x' OR 1=1 --\"") == set()
    assert matching(db, "name = 'x\\' OR \\'1\\'=\\'1'") == set()
    assert matching(db, 'name = "Robert\'); DROP TABLE contacts; --"') == set()
    assert matching(db, 'attr."x\') OR 1=1 --" = y') == set()
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == len(PEOPLE)
    compiled = str(parse_rule("name = \"x' OR 1=1 --\"").to_sql().compile(db.engine))
    assert "OR 1=1" not in compiled


def test_quoted_values_and_escapes(db, people):
    assert matching(db, "name = \"Hal O'Brien\"") == {"hal@example.com"}
    assert matching(db, "name = 'Hal O\\'Brien'") == {"hal@example.com"}
    assert parse_rule(r'name = "a \"b\" \\ c"').root == Condition("name", "=", ('a "b" \\ c',))
    assert parse_rule("name = 'tab\\there'").root.values == ("tab\there",)


def test_non_ascii_values_typed_as_stored_match_on_both_backends(db, people):
    # SQLite's lower() folds ASCII only; the value as typed must still find itself.
    with db.sessions() as session, session.begin():
        key = "jo@xn--bcher-kva.fr"
        jo = Contact(
            email=key, email_key=key, kind="journalist", name="Jo Éluard", beat="Économie", attributes={"ville": "Montréal"}
        )
        session.add_all([jo, ContactList(name="Presse Française")])
        session.flush()
        session.add(ContactTag(contact_id=jo.id, tag="économie"))
        session.flush()
        presse = session.scalar(select(ContactList.id).where(ContactList.name == "Presse Française"))
        session.add(ListMember(list_id=presse, contact_id=jo.id))
    assert matching(db, 'beat = "Économie"') == {"jo@xn--bcher-kva.fr"}
    assert matching(db, 'beat in ("Économie", climate)') == {"jo@xn--bcher-kva.fr", "carol@example.org"}
    assert matching(db, "name contains Éluard") == {"jo@xn--bcher-kva.fr"}
    assert matching(db, "attr.ville = Montréal") == {"jo@xn--bcher-kva.fr"}
    assert matching(db, "tag = économie") == {"jo@xn--bcher-kva.fr"}
    assert matching(db, 'list = "Presse Française"') == {"jo@xn--bcher-kva.fr"}
    assert matching(db, 'list = "presse française"') == {"jo@xn--bcher-kva.fr"}
    assert "jo@xn--bcher-kva.fr" not in matching(db, 'beat != "Économie"')
    # Addresses and domains are compared as keys store them (IDNA).
    assert matching(db, "email = Jo@Bücher.fr") == {"jo@xn--bcher-kva.fr"}
    assert matching(db, "domain in (bücher.fr, example.net)") == {"jo@xn--bcher-kva.fr", "dan@example.net"}


def test_canonical_form_parses_back_to_the_same_tree():
    for text in [
        EXAMPLE_RULE,
        'attr."twitter handle" is not empty or (tag != x and not (list in (a, "b c") or beat contains "\\""))',
        "name not startswith a and email not endswith b and outlet is empty",
    ]:
        rule = parse_rule(text)
        assert parse_rule(str(rule)).root == rule.root


# ---------------------------------------------------------------------------------------------
# Refusals, with messages a person can act on


def rule_error(text: str) -> RuleError:
    with pytest.raises(RuleError) as info:
        parse_rule(text)
    assert "Unexpected" not in str(info.value)  # lark's raw wording never reaches the user
    return info.value


def test_unknown_field_names_it_its_place_and_the_known_fields():
    error = rule_error("kind = journalist and beats = x")
    message = str(error)
    assert 'unknown field "beats"' in message
    assert "line 1, column 23" in message
    assert "did you mean beat?" in message
    assert "known fields are email, name, kind, outlet, beat, region, language, place, status, domain, tag, list, attr.NAME" in message
    assert (error.line, error.column) == (1, 23)
    assert 'unknown field "foo.bar"' in str(rule_error("foo.bar = 1"))
    assert "attr needs an attribute name" in str(rule_error("attr = 1"))


def test_bad_syntax_says_where_and_what_was_expected():
    message = str(rule_error("kind = journalist beat = x"))
    assert message.startswith("bad rule at line 1, column 19:")
    assert 'expected "and", "or" or the end of the rule, but found "beat"' in message
    assert "kind = journalist beat = x\n                    ^" in message  # a caret under the problem

    message = str(rule_error("kind = journalist and\n  (beat = x or"))
    assert "line 2, column 15" in message  # just after the last word
    assert "the rule ends too early; expected a field name" in message

    assert "expected an operator (=, !=, in, not in, contains" in str(rule_error("beat middle"))
    assert 'expected "(", but found "x"' in str(rule_error("beat in x"))
    assert 'expected ")" or ","' in str(rule_error("beat in (a b)"))
    assert 'write "and" or "or" in words' in str(rule_error("kind = journalist && tag = x"))
    assert "the rule is empty" in str(rule_error("   "))
    assert 'line 1, column 23: this ")" has no "(" to close' in str(rule_error("(tag = x) or (tag = y))"))
    assert "nests more than 100 levels" in str(rule_error("not " * 2000 + "tag = x"))
    assert str(parse_rule("(" * 2000 + "tag = x" + ")" * 2000)) == 'tag = "x"'  # brackets alone nest nothing


def test_unterminated_string():
    error = rule_error('kind = journalist and beat = "middle east')
    assert "line 1, column 30: this quoted text is never closed; add the closing \"" in str(error)
    assert "never closed; add the closing '" in str(rule_error("name = 'abc"))


def test_kind_and_status_values_are_checked():
    message = str(rule_error("kind = journo"))
    assert 'kind must be journalist or supporter, not "journo"' in message
    assert "line 1, column 8" in message
    assert 'not "press"' in str(rule_error("kind in (journalist, press)"))
    assert "status must be active, unsubscribed, bounced or complained" in str(rule_error("status = gone"))
    assert "list can only be used with =, !=, in, not in" in str(rule_error("list contains x"))


def test_unknown_list_is_refused_with_its_name(db, people):
    with db.sessions() as session:
        with pytest.raises(UnknownList) as info:
            compile_rule('kind = journalist and list = "Gaza Dsk"', session)
        message = str(info.value)
        assert 'no list named "Gaza Dsk"' in message
        assert 'did you mean "Gaza Desk"?' in message
        assert "known lists: Gaza Desk, Newsletter" in message
        with pytest.raises(UnknownList):
            add_segment(session, "x", "list in (newsletter, nowhere)")
        assert session.scalar(select(func.count()).select_from(Segment)) == 0


# ---------------------------------------------------------------------------------------------
# Saved segments and audiences


def test_add_get_replace_and_remove_segments(db, people):
    with db.sessions() as session, session.begin():
        segment = add_segment(session, " mena ", EXAMPLE_RULE)
        assert (segment.name, segment.rule) == ("mena", EXAMPLE_RULE)
        with pytest.raises(SegmentExists, match='a segment named "mena" already exists'):
            add_segment(session, "mena", "kind = supporter")
        add_segment(session, "mena", "kind = supporter", replace=True)
        assert get_segment(session, "mena").rule == "kind = supporter"
        add_segment(session, "gaza", "tag = gaza")
        assert [s.name for s in list_segments(session)] == ["gaza", "mena"]
        with pytest.raises(SegmentNotFound) as info:
            get_segment(session, "menna")
        assert str(info.value) == 'no segment named "menna"; did you mean "mena"?; known segments: gaza, mena'
        assert isinstance(info.value, UserError)
        remove_segment(session, "gaza")
        assert [s.name for s in list_segments(session)] == ["mena"]


def test_segment_contact_ids_ignores_status_and_suppression(db, people):
    with db.sessions() as session, session.begin():
        add_segment(session, "rights", 'beat = "human rights"')
        suppress(session, ["ivy@example.org"], "asked")
        ids = set(session.scalars(segment_contact_ids(session, "rights")))
    assert ids == {people["bob@news.example.com"], people["gus@example.org"], people["ivy@example.org"]}


def test_suppression_and_status_remove_contacts_from_the_audience(db, people):
    with db.sessions() as session, session.begin():
        add_segment(session, "mena", EXAMPLE_RULE)
        # gus is unsubscribed already; alice and ivy would be sent to.
        assert count_audience(session, segments=["mena"]) == {"matched": 3, "suppressed": 0, "inactive": 1, "recipients": 2}
        suppress(session, ["ALICE@example.org"], "asked by phone")
        assert count_audience(session, segments=["mena"]) == {"matched": 3, "suppressed": 1, "inactive": 1, "recipients": 1}
        assert list(session.scalars(audience_query(session, segments=["mena"]))) == [people["ivy@example.org"]]
        # Unsubscribed and suppressed is counted once, as suppressed: the parts add up to matched.
        suppress(session, ["gus@example.org"], "unsubscribed", source="unsubscribe")
        assert count_audience(session, segments=["mena"]) == {"matched": 3, "suppressed": 2, "inactive": 0, "recipients": 1}
        session.get(Contact, people["ivy@example.org"]).status = "bounced"
        session.flush()
        assert count_audience(session, segments=["mena"])["recipients"] == 0
        assert list(session.scalars(audience_query(session, segments=["mena"]))) == []


def test_a_contact_in_two_segments_and_two_lists_is_counted_once(db, people):
    with db.sessions() as session, session.begin():
        add_segment(session, "gaza", "tag = gaza")
        add_segment(session, "mena", 'beat = "middle east"')
        query = audience_query(session, segments=["gaza", "mena"], lists=["Gaza Desk", "newsletter"])
        ids = list(session.scalars(query))
        expected = {"alice@example.org", "bob@news.example.com", "dan@example.net", "erin@example.org"}
        assert sorted(ids) == ids == sorted(people[e] for e in expected)
        counts = count_audience(session, segments=["gaza", "mena"], lists=["Gaza Desk", "newsletter"])
        assert counts == {"matched": 4, "suppressed": 0, "inactive": 0, "recipients": 4}
        assert count_audience(session, lists=["Gaza Desk"], kinds=["supporter"])["matched"] == 0
        assert count_audience(session, segments=["mena"], kinds=["supporter"])["matched"] == 1
        assert count_audience(session, kinds=["supporter"])["matched"] == 1


def test_audience_refusals(db, people):
    with db.sessions() as session:
        with pytest.raises(UserError, match="choose an audience"):
            audience_query(session)
        with pytest.raises(UserError, match='no list named "Nowhere"'):
            audience_query(session, lists=["Nowhere"])
        with pytest.raises(SegmentNotFound, match='no segment named "ghost"'):
            count_audience(session, segments=["ghost"])
        with pytest.raises(UserError, match="unknown kind 'press'"):
            audience_query(session, kinds=["press"])


def test_a_saved_segment_whose_list_was_deleted_is_refused(db, people):
    with db.sessions() as session, session.begin():
        add_segment(session, "desk", 'list = "Gaza Desk"')
        session.delete(session.scalar(select(ContactList).where(ContactList.name == "Gaza Desk")))
        session.flush()
        with pytest.raises(UnknownList, match='segment "desk" can no longer be used: no list named "Gaza Desk"'):
            count_audience(session, segments=["desk"])


def test_audience_is_one_streamable_query(db, people):
    with db.sessions() as session, session.begin():
        add_segment(session, "journalists", "kind = journalist")
        query = audience_query(session, segments=["journalists"])
        sql = str(query.compile(db.engine))
        assert "NOT (EXISTS (SELECT suppressions.id" in sql and "contacts.status = " in sql
        streamed = [row.id for row in session.execute(query.execution_options(yield_per=2))]
        assert len(streamed) == count_audience(session, segments=["journalists"])["recipients"] == 7
        # keyset batches: resume after the last id seen
        rest = list(session.scalars(query.where(Contact.id > streamed[2])))
        assert rest == streamed[3:]


def test_count_matching_for_an_ad_hoc_rule(db, people):
    with db.sessions() as session, session.begin():
        session.add(Suppression(email_key="erin@example.org", reason="complaint", source="complaint"))
        session.flush()
        counts = count_matching(session, compile_rule("tag = gaza", session))
        assert counts == {"matched": 2, "suppressed": 1, "inactive": 0, "recipients": 1}
        assert list(session.scalars(recipients_of(compile_rule("tag = gaza", session)))) == [people["alice@example.org"]]


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_add_count_list_show(run_cli, people):
    result = run_cli("segments", "add", "mena", "--where", EXAMPLE_RULE)
    assert result.exit_code == 0, result.output
    assert "saved segment 'mena': 2 recipients (3 matched, 0 suppressed, 1 inactive)" in result.output

    result = run_cli("segments", "add", "mena", "--where", "kind = supporter")
    assert result.exit_code == 1
    assert 'Error: a segment named "mena" already exists' in result.output
    assert "add --replace" in result.output

    result = run_cli("suppress", "ivy@example.org", "--reason", "asked")
    assert result.exit_code == 0, result.output

    result = run_cli("segments", "count", "mena", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "segment": "mena", "rule": EXAMPLE_RULE, "matched": 3, "suppressed": 1, "inactive": 1, "recipients": 1,
    }  # fmt: skip

    result = run_cli("segments", "list", "--json")
    rows = json.loads(result.output)
    assert [(r["name"], r["rule"]) for r in rows] == [("mena", EXAMPLE_RULE)]
    assert set(rows[0]) == {"name", "rule", "created_at"}

    result = run_cli("segments", "show", "mena", "--json")
    shown = json.loads(result.output)
    assert shown["sample"] == [{"email": "alice@example.org", "name": "Alice Ahmed", "outlet": "The Times"}]
    assert (shown["segment"], shown["rule"], shown["recipients"], shown["matched"]) == ("mena", EXAMPLE_RULE, 1, 3)

    result = run_cli("segments", "show", "mena")
    assert result.exit_code == 0, result.output
    assert "alice@example.org" in result.output and "The Times" in result.output


def test_cli_check_and_errors(run_cli, people):
    result = run_cli("segments", "check", "--where", "tag = gaza or kind = supporter and beat = x", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "rule": "tag = gaza or kind = supporter and beat = x",
        "understood_as": 'tag = "gaza" or (kind = "supporter" and beat = "x")',
        "matched": 2, "suppressed": 0, "inactive": 0, "recipients": 2,
    }  # fmt: skip

    result = run_cli("segments", "add", "x", "--where", "kind = journalist and beets = x")
    assert result.exit_code == 1
    assert result.output.startswith("Error: bad rule at line 1, column 23: unknown field \"beets\"")
    assert "Traceback" not in result.output

    result = run_cli("segments", "check", "--where", "list = nowhere")
    assert result.exit_code == 1
    assert 'no list named "nowhere"' in result.output

    result = run_cli("segments", "count", "nothing")
    assert result.exit_code == 1
    assert 'Error: no segment named "nothing"; there are no segments yet' in result.output

    result = run_cli("segments", "--help")
    assert EXAMPLE_RULE in result.output


def test_cli_remove_segment(run_cli, people):
    assert run_cli("segments", "add", "gaza", "--where", "tag = gaza").exit_code == 0
    result = run_cli("segments", "remove", "gaza")
    assert result.exit_code == 0 and "removed segment 'gaza'" in result.output
    assert json.loads(run_cli("segments", "list", "--json").output) == []
