"""The reader knows the conventions of the genre: header labels, datelines and dates, embargoes
with time zones, lists, notes to editors, end marks, contacts, boilerplate headings, the
call-to-action line and the language (no database: the draft is what the reader understood)."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from distribute.releases.content import blocks
from distribute.releases.contacts import tel_link
from distribute.releases.reader import ReleaseError, read_release

UTC = ZoneInfo("UTC")
BODY = "{dateline}The coalition filed its report on Tuesday, citing samples from forty villages.\n\n\"We have the data,\" said its director.\n"


def read(tmp_path: Path, text: str | bytes, name: str = "r.txt", **options):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return read_release(path, zone=options.pop("zone", UTC), **options)


def refused(tmp_path: Path, text: str, **options) -> ReleaseError:
    with pytest.raises(ReleaseError) as info:
        read(tmp_path, text, **options)
    return info.value


def contact(name=None, title=None, organisation=None, email=None, phones=()):
    return {"name": name, "title": title, "organisation": organisation, "email": email, "phones": list(phones)}


# --- 1. header labels are not titles -------------------------------------------------------------

@pytest.mark.parametrize("head, label", [
    ("PRESS RELEASE", "PRESS RELEASE"),
    ("**NEWS RELEASE**", "NEWS RELEASE"),
    ("Media Advisory", "Media Advisory"),
    ("STATEMENT\nFor Immediate Release", "STATEMENT"),
    ("FOR IMMEDIATE RELEASE", None),
    ("for immediate release:", None),
    ("PRESS RELEASE – FOR IMMEDIATE RELEASE", "PRESS RELEASE"),
    ("COMMUNIQUÉ DE PRESSE\nPour diffusion immédiate", "COMMUNIQUÉ DE PRESSE"),
    ("NOTA DE PRENSA", "NOTA DE PRENSA"),
    ("PRESSEMITTEILUNG", "PRESSEMITTEILUNG"),
    ("بيان صحفي\nللنشر الفوري", "بيان صحفي"),
])
def test_a_header_label_is_never_the_title(tmp_path, head, label):
    draft = read(tmp_path, f"{head}\n\nCoalition sues over river pollution\n\n" + BODY.format(dateline="LAGOS – "))
    assert (draft.title, draft.label, draft.subtitle) == ("Coalition sues over river pollution", label, None)
    assert draft.body.startswith("The coalition filed")


def test_a_date_line_and_a_contact_block_above_the_headline(tmp_path):
    text = ("PRESS RELEASE\nDecember 5, 2026\n\nCONTACT: Jane Doe\n(202) 555-0147\njane.doe@example.org\n\n"
            "Advocates rally at the Capitol\n\n" + BODY.format(dateline="WASHINGTON – "))
    draft = read(tmp_path, text)
    assert draft.title == "Advocates rally at the Capitol"
    assert draft.release_date == dt.date(2026, 12, 5)
    assert draft.contacts == [contact("Jane Doe", email="jane.doe@example.org", phones=["(202) 555-0147"])]


def test_a_headline_followed_at_once_by_a_second_line_is_title_and_subtitle(tmp_path):
    draft = read(tmp_path, "Coalition sues over river pollution\nFiling names three companies\n\n" + BODY.format(dateline=""))
    assert (draft.title, draft.subtitle) == ("Coalition sues over river pollution", "Filing names three companies")


def test_an_organisation_name_above_the_label_is_not_the_headline(tmp_path):
    draft = read(tmp_path, "EXAMPLE COALITION\n\nPRESS RELEASE\n\nCoalition sues over pollution\n\n" + BODY.format(dateline="LAGOS – "))
    assert (draft.title, draft.label) == ("Coalition sues over pollution", "PRESS RELEASE")


def test_a_headline_with_a_dash_is_not_a_dateline(tmp_path):
    draft = read(tmp_path, "Syria – Office destroyed in Aleppo\n\n" + BODY.format(dateline="WASHINGTON, DC – "))
    assert (draft.title, draft.dateline) == ("Syria – Office destroyed in Aleppo", "WASHINGTON, DC")


# --- 2. datelines and dates ----------------------------------------------------------------------

@pytest.mark.parametrize("opening, place, dash, date", [
    ("WASHINGTON, D.C. – ", "WASHINGTON, D.C.", "–", None),
    ("NAIROBI, Kenya - ", "NAIROBI, Kenya", "-", None),
    ("GENEVA (Dec. 5, 2026) — ", "GENEVA", "—", dt.date(2026, 12, 5)),
    ("WASHINGTON, D.C., December 5, 2026 -- ", "WASHINGTON, D.C.", "--", dt.date(2026, 12, 5)),
    ("Paris, le 5 décembre 2026 – ", "Paris", "–", dt.date(2026, 12, 5)),
    # The full stop closes the date; the dash after it is the dash.
    ("Madrid, 5 de diciembre de 2026.– ", "Madrid", "–", dt.date(2026, 12, 5)),
    ("BOGOTÁ, 5 de diciembre de 2026.- ", "BOGOTÁ", "-", dt.date(2026, 12, 5)),
    ("Berlin, 5. Dezember 2026 – ", "Berlin", "–", dt.date(2026, 12, 5)),
    ("Berlin, 05.12.2026 – ", "Berlin", "–", dt.date(2026, 12, 5)),
    ("بيروت، ٥ كانون الأول/ديسمبر ٢٠٢٦ – ", "بيروت", "–", dt.date(2026, 12, 5)),
    # Vowel marks and shadda in the place, as written; the Gulf's one month name, the Egyptian "(…)".
    ("غزّة، ٥ كانون الأول/ديسمبر ٢٠٢٦ – ", "غزّة", "–", dt.date(2026, 12, 5)),
    ("الدوحة، ٥ ديسمبر ٢٠٢٦ – ", "الدوحة", "–", dt.date(2026, 12, 5)),
    ("القاهرة، 5 كانون الأول (ديسمبر) 2026 — ", "القاهرة", "—", dt.date(2026, 12, 5)),
    # A province, state or country in brackets after the city, then the date.
    ("Sherbrooke (Québec), le 5 décembre 2026 – ", "Sherbrooke (Québec)", "–", dt.date(2026, 12, 5)),
    ("SPRINGFIELD (Illinois), Dec. 5, 2026 — ", "SPRINGFIELD (Illinois)", "—", dt.date(2026, 12, 5)),
    ("Lille (Nord) – ", "Lille (Nord)", "–", None),
    ("NEW YORK, Dec. 5, 2026 /PRNewswire/ -- ", "NEW YORK", "--", dt.date(2026, 12, 5)),
    ("5 December 2026 – ", None, "–", dt.date(2026, 12, 5)),
    ("GENEVA/NEW YORK – ", "GENEVA/NEW YORK", "–", None),
])
def test_the_dateline_its_date_and_its_dash_as_written(tmp_path, opening, place, dash, date):
    draft = read(tmp_path, "Headline\n\n" + BODY.format(dateline=opening))
    assert (draft.dateline, draft.dateline_dash, draft.release_date) == (place, dash, date)
    assert draft.body.startswith("The coalition filed")


@pytest.mark.parametrize("line, date", [
    ("December 5, 2026", dt.date(2026, 12, 5)),
    ("Saturday, 5 December 2026", dt.date(2026, 12, 5)),
    ("5 Dec. 2026", dt.date(2026, 12, 5)),
    ("Paris, le 1er décembre 2026", dt.date(2026, 12, 1)),
    ("FOR IMMEDIATE RELEASE: Dec. 5, 2026", dt.date(2026, 12, 5)),
    ("2026-12-05", dt.date(2026, 12, 5)),
])
def test_a_date_on_its_own_line_is_the_release_date(tmp_path, line, date):
    draft = read(tmp_path, f"{line}\n\nHeadline\n\n" + BODY.format(dateline="LONDON – "))
    assert (draft.title, draft.release_date) == ("Headline", date)


def test_a_wrong_weekday_refuses_an_embargo_but_not_a_release_date(tmp_path):
    error = refused(tmp_path, "EMBARGOED UNTIL 00:01 GMT, Friday 5 December 2026\n\nHeadline\n\n" + BODY.format(dateline=""))
    assert error.line == 1 and "is a Saturday, not a Friday" in error.reason
    draft = read(tmp_path, "Friday, 5 December 2026\n\nHeadline\n\n" + BODY.format(dateline=""))
    assert draft.release_date == dt.date(2026, 12, 5)  # the digits are the date


def test_a_numeric_date_is_read_only_when_its_order_is_certain(tmp_path):
    dotted = read(tmp_path, "Headline\n\n" + BODY.format(dateline="LONDON, 05.12.2026 – "))
    assert dotted.release_date == dt.date(2026, 12, 5)  # dots: day first, always
    slashed = read(tmp_path, "Headline\n\n" + BODY.format(dateline="LONDON, 05/12/2026 – "))
    assert slashed.release_date is None  # 5 December or May 12: not guessed


# --- 3. embargoes as people write them -------------------------------------------------------------

@pytest.mark.parametrize("line, expected", [
    ("EMBARGOED UNTIL 00:01 GMT, 8 December 2026", dt.datetime(2026, 12, 8, 0, 1)),
    ("Embargoed until Dec. 8, 2026, 12:01 a.m. ET", dt.datetime(2026, 12, 8, 5, 1)),
    ("Embargoed until July 8, 2026, 12:01 a.m. ET", dt.datetime(2026, 7, 8, 4, 1)),  # ET follows summer time
    ("EMBARGO: 8 December 2026, 09:30 CET", dt.datetime(2026, 12, 8, 8, 30)),
    ("Embargoed until 10am BST on Wednesday 8 July 2026", dt.datetime(2026, 7, 8, 9, 0)),
    ("EMBARGOED UNTIL 00:01 UTC+05:30, 8 December 2026", dt.datetime(2026, 12, 7, 18, 31)),
    ("For release at 9 a.m. PT, Dec. 8, 2026", dt.datetime(2026, 12, 8, 17, 0)),
    ("SOUS EMBARGO JUSQU'AU 8 décembre 2026 à 00h01 (heure de Paris)", dt.datetime(2026, 12, 7, 23, 1)),
    ("EMBARGADO HASTA el 8 de diciembre de 2026 a las 00:01 GMT", dt.datetime(2026, 12, 8, 0, 1)),
    ("Sperrfrist: 8. Dezember 2026, 00:01 Uhr MEZ", dt.datetime(2026, 12, 7, 23, 1)),
    ("EMBARGOED: NOT FOR PUBLICATION UNTIL 00:01 GMT 8 DECEMBER 2026", dt.datetime(2026, 12, 8, 0, 1)),
    ("Embargoed until: Thursday, December 10, 2026 at 12:01 AM EST", dt.datetime(2026, 12, 10, 5, 1)),
    ("محظور النشر حتى الساعة 00:01 بتوقيت غرينتش، 8 كانون الأول/ديسمبر 2026", dt.datetime(2026, 12, 8, 0, 1)),
    ("EMBARGOED UNTIL 2026-12-01 09:00", dt.datetime(2026, 12, 1, 14, 0)),  # no zone: DISTRIBUTE_TIMEZONE
])
def test_embargo_lines_with_their_time_zones(tmp_path, line, expected):
    draft = read(tmp_path, f"{line}\n\nHeadline\n\n" + BODY.format(dateline=""), zone=ZoneInfo("America/New_York"))
    assert draft.embargo_until == expected.replace(tzinfo=dt.UTC)


@pytest.mark.parametrize("line, expected", [
    ("EMBARGOED UNTIL 1400 hrs GMT, Tuesday 8 December 2026", dt.datetime(2026, 12, 8, 14, 0)),
    ("EMBARGO: 0930 HRS CET TUESDAY 8 DECEMBER 2026", dt.datetime(2026, 12, 8, 8, 30)),
    ("Embargoed until 2359 hours BST on 7 July 2026", dt.datetime(2026, 7, 7, 22, 59)),
    ("Embargoed until 8 December 2026, 0700h GMT", dt.datetime(2026, 12, 8, 7, 0)),
    ("Sperrfrist: 8. Dezember 2026, 14.00 Uhr MEZ", dt.datetime(2026, 12, 8, 13, 0)),
    ("Sperrfrist: 8. Dezember 2026, 1400 Uhr MEZ", dt.datetime(2026, 12, 8, 13, 0)),
    ("SOUS EMBARGO JUSQU'AU 8 décembre 2026, 14h00 (heure de Paris)", dt.datetime(2026, 12, 8, 13, 0)),
    ("SOUS EMBARGO JUSQU'AU 8 décembre 2026, 14 h 00 HNEC", dt.datetime(2026, 12, 8, 13, 0)),
])
def test_a_24_hour_time_is_read_however_it_is_written(tmp_path, line, expected):
    draft = read(tmp_path, f"{line}\n\nHeadline\n\n" + BODY.format(dateline=""))
    assert draft.embargo_until == expected.replace(tzinfo=dt.UTC)


def test_four_digits_without_hrs_are_a_year_not_a_time(tmp_path):
    error = refused(tmp_path, "EMBARGOED UNTIL 1400 GMT, 8 December 2026\n\nHeadline\n\n" + BODY.format(dateline=""))
    assert error.line == 1 and "'1400' is not understood" in error.reason


def test_a_year_less_embargo_takes_the_year_of_the_release_date(tmp_path):
    text = "EMBARGOED UNTIL 00:01 GMT on Tuesday 8 December\n\nHeadline\n\n" + BODY.format(dateline="LONDON, 5 December 2026 – ")
    assert read(tmp_path, text).embargo_until == dt.datetime(2026, 12, 8, 0, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("line, reason", [
    ("EMBARGOED UNTIL 00:01 IST, 8 December 2026", "IST is ambiguous: it can mean India"),
    ("EMBARGOED UNTIL 00:01 CST, 8 December 2026", "CST is ambiguous"),
    ("EMBARGOED UNTIL 00:01 BST, 8 December 2026", "BST is summer time, but on 8 December 2026 London is on GMT"),
    ("EMBARGOED UNTIL 12:01 a.m. EDT, Jan. 8, 2027", "EDT is summer time, but on 8 January 2027 New York is on EST"),
    ("EMBARGOED UNTIL midnight, 8 December 2026", "'midnight' can be the start or the end of a day"),
    ("EMBARGOED UNTIL 00:01 GMT, 8 December", "has no year"),
    ("EMBARGOED UNTIL 00:01 GMT soon, 8 December 2026", "'soon' is not understood"),
    ("EMBARGOED UNTIL next tuesday", "is not a time"),
])
def test_an_embargo_that_cannot_be_read_exactly_is_refused_with_why(tmp_path, line, reason):
    error = refused(tmp_path, f"PRESS RELEASE\n{line}\n\nHeadline\n\n" + BODY.format(dateline=""))
    assert error.line == 2 and reason in error.reason, error.reason


# --- 4. structure kept ---------------------------------------------------------------------------

def test_bullets_and_numbers_become_lists(tmp_path):
    text = ("Headline\n\nLONDON – The report calls on donors to:\n• ring-fence 5% of aid;\n• publish where it goes;\n\n"
            "It sets three steps.\n\n1. Count the clinics\n2) Fund the repairs,\n   not only new wells\n\n"
            "- one more point\n\n- and another, split by a blank line\n")
    assert blocks(read(tmp_path, text).body, "text") == [
        ("p", "The report calls on donors to:"),
        ("ul", ["ring-fence 5% of aid;", "publish where it goes;"]),
        ("p", "It sets three steps."),
        ("ol", ["Count the clinics", "Fund the repairs, not only new wells"]),
        ("ul", ["one more point", "and another, split by a blank line"]),
    ]


@pytest.mark.parametrize("mark", ["- more -", "-more-", "(MORE)", "MORE", "— more —", "- 2 -", "/2", "2/3",
                                  "Page 2 of 3", "- suite -", "(más)", "- mehr -", "-يتبع-"])
def test_a_page_mark_of_a_printed_release_is_dropped(tmp_path, mark):
    text = ("Headline\n\nLONDON – The coalition filed its report on Tuesday.\n\n" + mark +
            "\n\n\"We have the data,\" said its director.\n" + mark + "\n- It names three firms.\n\n-30-\n")
    draft = read(tmp_path, text)
    assert blocks(draft.body, "text") == [("p", "The coalition filed its report on Tuesday."),
                                          ("p", "\"We have the data,\" said its director."), ("ul", ["It names three firms."])]
    assert draft.end_mark == "-30-"
    markdown = read(tmp_path, "---\ntitle: T\n---\nLONDON – First.\n\n" + mark + "\n\nSecond.\n", name="r.md")
    assert blocks(markdown.body, "markdown") == [("p", "First."), ("p", "Second.")]


def test_a_page_mark_between_two_lines_ends_the_paragraph(tmp_path):
    text = ("Headline\n\nLEEDS - Half of the homes surveyed fail the damp standard,\na survey found.\n- more -\n"
            "The survey covered 2,100 homes.\n")
    assert blocks(read(tmp_path, text).body, "text") == [
        ("p", "Half of the homes surveyed fail the damp standard, a survey found."), ("p", "The survey covered 2,100 homes.")]


def test_a_line_that_only_starts_like_a_page_mark_is_text(tmp_path):
    text = "Headline\n\nLONDON – First.\n\n- more than 300 people came\n- 2 buses\n\nMore information follows.\n"
    assert blocks(read(tmp_path, text).body, "text") == [
        ("p", "First."), ("ul", ["more than 300 people came", "2 buses"]), ("p", "More information follows.")]


@pytest.mark.parametrize("mark", ["###", "# # #", "-30-", "- 30 -", "ENDS", "-ENDS-", "— ENDS —", "*ENDS*", "-FIN-", "-انتهى-"])
def test_every_end_mark_ends_the_body_and_is_kept_as_written(tmp_path, mark):
    text = "Headline\n\n" + BODY.format(dateline="LONDON – ") + f"\n{mark}\n\nNotes to editors\n1. The study was peer reviewed.\n2) Data are\n   available on request.\n"
    draft = read(tmp_path, text)
    assert draft.end_mark == mark
    assert draft.notes == ["The study was peer reviewed.", "Data are available on request."]
    assert mark not in draft.body and "peer reviewed" not in draft.body


# --- 5. contacts as written ------------------------------------------------------------------------

@pytest.mark.parametrize("trailer, expected", [
    ("Media contact: Jane Doe, Communications Director, (202) 555-0147, jane@example.org",
     [contact("Jane Doe", "Communications Director", email="jane@example.org", phones=["(202) 555-0147"])]),
    ("Contact:\nJane Doe\nDirector of Communications, Example Coalition\njane@example.org | +1 202-555-0147 (office) | 202-555-0199 (mobile)\n\n"
     "John Roe\nPress Officer\njohn@example.org",
     [contact("Jane Doe", "Director of Communications", "Example Coalition", "jane@example.org", ["+1 202-555-0147", "202-555-0199"]),
      contact("John Roe", "Press Officer", email="john@example.org")]),
    ("Press contacts:\nMarie Dupont – Chargée de communication\nTél. : +33 1 23 45 67 89 / 06 12 34 56 78\nCourriel : marie@exemple.fr",
     [contact("Marie Dupont", "Chargée de communication", email="marie@exemple.fr", phones=["+33 1 23 45 67 89", "06 12 34 56 78"])]),
    ("For interviews, contact Priya Chandrasekar on 020 7946 0321 or priya.c@example.org.",
     [contact("Priya Chandrasekar", email="priya.c@example.org", phones=["020 7946 0321"])]),
    ("###\n\nSETF Deputy Director Evan Barrett\n+44 (0)20 7946 0321\nevan@setf.example",
     [contact("Evan Barrett", "SETF Deputy Director", email="evan@setf.example", phones=["+44 (0)20 7946 0321"])]),
    ("Media contacts:\nOrganisation A: Lina Haddad, lina@a.example, +41 79 555 01 01\nOrganisation B: Tom Weber, tom@b.example",
     [contact("Lina Haddad", organisation="Organisation A", email="lina@a.example", phones=["+41 79 555 01 01"]),
      contact("Tom Weber", organisation="Organisation B", email="tom@b.example")]),
    ("###\n\nAbout the Coalition\nThe Coalition works for clean rivers.\n\nJane Doe\njane@example.org",
     [contact("Jane Doe", email="jane@example.org")]),
    ("للتواصل الإعلامي:\nسارة أحمد، مسؤولة الإعلام\n+961 1 234 567\nsara@example.org",
     [contact("سارة أحمد", "مسؤولة الإعلام", email="sara@example.org", phones=["+961 1 234 567"])]),
])
def test_contacts_are_read_as_written(tmp_path, trailer, expected):
    draft = read(tmp_path, "Headline\n\n" + BODY.format(dateline="LONDON – ") + "\n" + trailer + "\n")
    assert draft.contacts == expected
    assert "@" not in draft.body


@pytest.mark.parametrize("trailer, expected", [
    # A switchboard or a shared line inside one person's block is that person's, not a new contact.
    ("Pressekontakt:\nLukas Hoffmann\nPressereferent\nBündnis Saubere Luft e. V.\nTel.: 089 2154 3310\n"
     "Zentrale: +49 89 2154 3300\nE-Mail: presse@saubere-luft.example",
     [contact("Lukas Hoffmann", "Pressereferent", "Bündnis Saubere Luft e. V.", "presse@saubere-luft.example",
              ["089 2154 3310", "+49 89 2154 3300"])]),
    ("Media contact:\nTom Okafor, Press Officer\n+44 7700 900123\nSwitchboard: +44 20 7946 0000\ntom@example.org",
     [contact("Tom Okafor", "Press Officer", email="tom@example.org", phones=["+44 7700 900123", "+44 20 7946 0000"])]),
    # Job titles in German (compounds, gendered forms), French, Spanish and Arabic are titles, not organisations.
    ("Kontakt:\nMiriam Schulz, Pressesprecher/in, 030 555 0101, schulz@example.org\n"
     "Jonas Berg, Kampagnenleiterin, 030 555 0102, berg@example.org\n"
     "Eva Roth, Geschäftsführerin, eva@example.org",
     [contact("Miriam Schulz", "Pressesprecher/in", email="schulz@example.org", phones=["030 555 0101"]),
      contact("Jonas Berg", "Kampagnenleiterin", email="berg@example.org", phones=["030 555 0102"]),
      contact("Eva Roth", "Geschäftsführerin", email="eva@example.org")]),
    ("Contact presse :\nÉlodie Gagnon\nDéléguée générale\n418 555-0199\negagnon@example.org",
     [contact("Élodie Gagnon", "Déléguée générale", email="egagnon@example.org", phones=["418 555-0199"])]),
    ("Contacto de prensa:\nLucía Fernández, Vocera, +52 55 5555 0134, lucia@example.org",
     [contact("Lucía Fernández", "Vocera", email="lucia@example.org", phones=["+52 55 5555 0134"])]),
    ("للتواصل الإعلامي:\nريم خليل، الناطقة الإعلامية\n+962 6 555 0123\nreem@example.org",
     [contact("ريم خليل", "الناطقة الإعلامية", email="reem@example.org", phones=["+962 6 555 0123"])]),
    # A phone's note in brackets is dropped: it is neither the organisation nor a name.
    ("Media contact: Ana Ruiz, +34 600 123 456 (Madrid office), ana@example.org",
     [contact("Ana Ruiz", email="ana@example.org", phones=["+34 600 123 456"])]),
    ("Contact: Sam Lee, Oceans Trust, 415-555-0100 (cell), 415-555-0111 (after 6pm), sam@example.org",
     [contact("Sam Lee", organisation="Oceans Trust", email="sam@example.org", phones=["415-555-0100", "415-555-0111"])]),
    # The cues of Quebec and elsewhere open a contact and are never its name.
    ("Renseignements :\nPaul Roy\n514 555-0100\nproy@example.org",
     [contact("Paul Roy", email="proy@example.org", phones=["514 555-0100"])]),
    ("Information :\nLéa Martin, 06 12 34 56 78, lea@example.fr",
     [contact("Léa Martin", email="lea@example.fr", phones=["06 12 34 56 78"])]),
    ("Source : Julie Côté, 819 555-0147",
     [contact("Julie Côté", phones=["819 555-0147"])]),
    # Quebec's "Source :" (the organisation) above "Renseignements :" (the person): one contact.
    ("Source : Collectif pour un transport abordable\nRenseignements : Paul Roy, 514 555-0100, proy@example.org",
     [contact("Paul Roy", organisation="Collectif pour un transport abordable", email="proy@example.org",
              phones=["514 555-0100"])]),
    ("Source : Collectif pour un transport abordable\n\nRenseignements : Paul Roy, 514 555-0100, proy@example.org",
     [contact("Paul Roy", organisation="Collectif pour un transport abordable", email="proy@example.org",
              phones=["514 555-0100"])]),
    # A cue written with or without its comma; a note with digits after a phone.
    ("For more information please contact:\nJo Bloggs\nT: 020 7946 0000 (direct)\nM: 07700 900000 (24 hours)\njo@example.org",
     [contact("Jo Bloggs", email="jo@example.org", phones=["020 7946 0000", "07700 900000"])]),
    # A department is a title (or an organisation), never a name.
    ("Contacto:\nLuis Pérez, Coordinación de Comunicación Social, 55 5555 0100, lperez@example.org",
     [contact("Luis Pérez", "Coordinación de Comunicación Social", email="lperez@example.org", phones=["55 5555 0100"])]),
])
def test_contact_lines_as_the_genre_writes_them(tmp_path, trailer, expected):
    draft = read(tmp_path, "Headline\n\n" + BODY.format(dateline="LONDON – ") + "\n###\n\n" + trailer + "\n")
    assert draft.contacts == expected
    assert draft.body.endswith("said its director.\n")


def test_a_contact_sentence_wrapped_over_lines_keeps_each_phone(tmp_path):
    text = ("Headline\n\n" + BODY.format(dateline="LONDON – ") + "\nFor interviews contact Jo Bloggs on\nT: 020 7946 0000\n"
            "M: 07700 900000\nor jo@example.org.\n")
    assert read(tmp_path, text).contacts == [contact("Jo Bloggs", email="jo@example.org", phones=["020 7946 0000", "07700 900000"])]


def test_information_or_a_source_without_a_phone_or_an_address_is_body(tmp_path):
    text = "Headline\n\n" + BODY.format(dateline="LONDON – ") + "\nSource: Office for National Statistics, 2026.\n"
    draft = read(tmp_path, text)
    assert draft.contacts == [] and draft.body.endswith("Source: Office for National Statistics, 2026.\n")


def test_a_phone_becomes_a_tel_link_of_digits_and_a_leading_plus():
    assert tel_link("(202) 555-0147") == "tel:2025550147"
    assert tel_link("+44 (0)20 7946 0321") == "tel:+442079460321"
    assert tel_link("0044 20 7946 0321") == "tel:+442079460321"
    assert tel_link("+1 202-555-0147 ext. 12") == "tel:+12025550147;ext=12"


def test_a_call_to_act_by_phone_in_the_body_stays_in_the_body(tmp_path):
    text = "Headline\n\nLONDON – First.\n\nCall your MP today on 020 7219 3000 and ask for a vote.\n"
    draft = read(tmp_path, text)
    assert draft.contacts == [] and "020 7219 3000" in draft.body


# --- 6. the release's own boilerplate heading ---------------------------------------------------------

@pytest.mark.parametrize("heading", [
    "About the Syrian Emergency Task Force", "ABOUT SETF", "À propos du Collectif Logement Digne",
    "Acerca de la Red Agua Digna", "Über das Bündnis Mietenstopp", "نبذة عن تحالف المجتمع المدني",
    "À propos d'Éco-Quartiers Nantes", "A propos d’Entraide Loire", "À propos de l'Observatoire des loyers",
])
def test_the_boilerplate_heading_is_kept_as_written(tmp_path, heading):
    draft = read(tmp_path, "Headline\n\n" + BODY.format(dateline="LONDON – ") + f"\n{heading}\nWe work for clean rivers.\n")
    assert (draft.boilerplate_heading, draft.boilerplate) == (heading, "We work for clean rivers.")


@pytest.mark.parametrize("heading", ["## About the Coalition", "### À propos d'Entraide Loire", "## Über das Bündnis"])
def test_a_markdown_about_heading_ends_the_notes_and_opens_the_boilerplate(tmp_path, heading):
    text = ("---\ntitle: T\n---\nLONDON – Body.\n\n###\n\n**Notes to editors**\n\n1. A note.\n2. Another.\n\n"
            f"{heading}\n\nWe work for clean rivers.\n\n**Media contact:** Jane Doe, jane@example.org\n")
    draft = read(tmp_path, text, name="r.md")
    assert draft.notes == ["A note.", "Another."]
    assert (draft.boilerplate_heading, draft.boilerplate) == (heading.lstrip("# "), "We work for clean rivers.")
    assert draft.contacts == [contact("Jane Doe", email="jane@example.org")]


def test_a_markdown_about_heading_at_the_end_starts_the_trailer_without_an_end_mark(tmp_path):
    text = ("---\ntitle: T\n---\nBERLIN – Body.\n\n## What the study found\n\nMore body.\n\n"
            "## Über das Bündnis\n\nWir arbeiten für bezahlbare Mieten.\n\n## Pressekontakt\n\nEva Roth, eva@example.org\n")
    draft = read(tmp_path, text, name="r.md")
    assert draft.body == "Body.\n\n## What the study found\n\nMore body.\n"
    assert (draft.boilerplate_heading, draft.boilerplate) == ("Über das Bündnis", "Wir arbeiten für bezahlbare Mieten.")
    assert draft.contacts == [contact("Eva Roth", email="eva@example.org")]


def test_a_markdown_release_that_is_only_its_about_section_is_refused(tmp_path):
    error = refused(tmp_path, "---\ntitle: T\n---\n## About the Coalition\n\nWe work.\n", name="r.md")
    assert error.line == 4 and "no body before its heading '## About the Coalition'" in error.reason


def test_a_markdown_about_heading_with_the_body_still_to_come_is_body(tmp_path):
    text = ("---\ntitle: T\n---\nLONDON – Body.\n\n## About the study\n\nOne.\n\nTwo.\n\nThree.\n\nFour.\n")
    draft = read(tmp_path, text, name="r.md")
    assert draft.boilerplate_heading is None and "## About the study" in draft.body


def test_a_body_paragraph_starting_with_about_is_body(tmp_path):
    text = "Headline\n\nLONDON – First.\n\nAbout 200 people gathered\noutside the ministry.\n\nThe end.\n"
    draft = read(tmp_path, text)
    assert draft.boilerplate_heading is None and "About 200 people gathered outside the ministry." in draft.body


# --- 7. language -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, language", [
    ("Les associations demandent un moratoire\n\nParis – Un collectif de douze associations a publié ce samedi un "
     "rapport qui recense les familles menacées d'expulsion avant la trêve hivernale.\n", "fr"),
    ("Las ONG piden una ley del agua\n\nMadrid – Una coalición de treinta organizaciones ha presentado hoy una "
     "propuesta de ley para garantizar el acceso al agua potable en todo el país.\n", "es"),
    ("Bündnis fordert Mietenstopp\n\nBerlin – Ein Bündnis aus 25 Organisationen hat heute eine Studie vorgestellt, "
     "die einen starken Anstieg der Räumungsklagen in den großen Städten belegt.\n", "de"),
    ("منظمات تطالب بممر آمن\n\nبيروت – طالبت اثنتا عشرة منظمة من منظمات المجتمع المدني اليوم بفتح ممر إنساني آمن "
     "لإجلاء المدنيين من الأحياء المحاصرة.\n", "ar"),
    ("Headline\n\n" + BODY.format(dateline="LONDON – "), "en"),
])
def test_the_language_is_detected(tmp_path, text, language):
    assert read(tmp_path, text).language == language


def test_the_language_given_wins_and_is_checked(tmp_path):
    text = "Headline\n\n" + BODY.format(dateline="LONDON – ")
    assert read(tmp_path, text, language="pt-BR").language == "pt-br"
    assert "not a language tag" in refused(tmp_path, text, language="English!").reason
    markdown = "---\ntitle: T\nlanguage: fr\n---\nLONDON – " + BODY.format(dateline="")
    assert read(tmp_path, markdown, name="r.md").language == "fr"
    assert read(tmp_path, markdown, name="r.md", language="de").language == "de"


# --- 8. the call to action in plain text ---------------------------------------------------------------

@pytest.mark.parametrize("line, label", [
    ("Take action: Ask your representative – https://example.org/act", "Ask your representative"),
    ("Act now: Sign the letter https://example.org/act.", "Sign the letter"),
    ("Agir : Signez la pétition — https://example.org/act", "Signez la pétition"),
    ("Jetzt handeln: Petition unterschreiben – https://example.org/act", "Petition unterschreiben"),
    ("Take action: https://example.org/act", "Take action"),
])
def test_a_call_to_action_line_is_taken_out_of_the_body(tmp_path, line, label):
    draft = read(tmp_path, "Headline\n\n" + BODY.format(dateline="LONDON – ") + f"\n{line}\n\n###\n")
    assert (draft.cta_label, draft.cta_url) == (label, "https://example.org/act")
    assert "example.org/act" not in draft.body


# --- pastes ----------------------------------------------------------------------------------------------

def test_a_word_paste_with_crlf_no_break_spaces_and_one_line_per_paragraph(tmp_path):
    text = ("December 5, 2026\r\n\r\nHeadline for a Word paste\r\n\r\n"
            "LONDON\u00a0– First paragraph written as one long line in Word, which pastes with single line breaks and no blank lines.\r\n"
            "Second paragraph, also a long line of text that Word produced when the comms officer copied it over.\r\n"
            "\u2022\tFirst bullet\r\n\u2022\tSecond bullet\r\n\r\n-30-\r\n")
    draft = read(tmp_path, text.encode("utf-8"))
    assert (draft.title, draft.dateline, draft.release_date, draft.end_mark) == (
        "Headline for a Word paste", "LONDON", dt.date(2026, 12, 5), "-30-")
    assert [kind for kind, _ in blocks(draft.body, "text")] == ["p", "p", "ul"]
    assert read(tmp_path, text.encode("cp1252")).body == draft.body


def test_a_hand_wrapped_paragraph_with_one_long_line_is_one_paragraph(tmp_path):
    text = ("Headline\n\nLEEDS – “The council told us this morning that the last night shelter in the city will shut on 2 January,\n"
            "when its lease runs out. Around 80 people sleep there on a cold night, among them\n"
            "women who have nowhere else that is safe.\n\n“We are asking the council to extend the lease.”\n")
    assert blocks(read(tmp_path, text).body, "text") == [
        ("p", "“The council told us this morning that the last night shelter in the city will shut on 2 January, when its "
              "lease runs out. Around 80 people sleep there on a cold night, among them women who have nowhere else that is safe."),
        ("p", "“We are asking the council to extend the lease.”")]


def test_a_word_paste_keeps_a_short_subheading_as_its_own_paragraph(tmp_path):
    text = ("Headline\n\nLEEDS – The council confirmed this morning that the last night shelter in the city will shut on 2 January.\n"
            "What the charity asks\n"
            "“We are asking the council to extend the lease by six months while a new site is found,” said its director.\n")
    assert [kind for kind, _ in blocks(read(tmp_path, text).body, "text")] == ["p", "p", "p"]


def test_markdown_blocks_come_from_markdown_it():
    body = "A *first* paragraph\nwrapped.\n\n- one\n- [two](https://x.example)\n\n1. first\n2. second\n"
    assert blocks(body, "markdown") == [("p", "A first paragraph wrapped."), ("ul", ["one", "two"]),
                                        ("ol", ["first", "second"])]


def test_a_markdown_body_ends_at_its_end_mark(tmp_path):
    text = ("---\ntitle: T\nlanguage: en\n---\nLONDON, 5 December 2026 – Body *text*.\n\n###\n\n"
            "Notes to editors\n1. A note.\n\nAbout the Coalition\nWe work.\n\nMedia contact: press@example.org\n")
    draft = read(tmp_path, text, name="r.md")
    assert (draft.body, draft.end_mark, draft.notes) == ("Body *text*.\n", "###", ["A note."])
    assert (draft.dateline, draft.dateline_dash, draft.release_date) == ("LONDON", "–", dt.date(2026, 12, 5))
    assert (draft.boilerplate_heading, draft.boilerplate) == ("About the Coalition", "We work.")
    assert draft.contacts == [contact(email="press@example.org")]


def test_a_headline_that_starts_with_embargo_is_a_headline(tmp_path):
    draft = read(tmp_path, "Embargo on arms sales must stay, say 40 groups\n\n" + BODY.format(dateline="LONDON – "))
    assert (draft.title, draft.embargo_until) == ("Embargo on arms sales must stay, say 40 groups", None)


def test_for_more_information_with_a_link_is_not_a_contact(tmp_path):
    text = "Headline\n\n" + BODY.format(dateline="LONDON – ") + "\nFor more information: https://example.org/report\n"
    draft = read(tmp_path, text)
    assert draft.contacts == [] and draft.body.endswith("For more information: https://example.org/report\n")
