"""The rendered email: both variants, the MIME message, headers, safety and size."""

import datetime as dt
import socket
import threading

import lxml.html
import pytest

from distribute.config import Settings
from distribute.sending.message import MessageBuilder, Recipient
from distribute.models import Release
from distribute.releases.rendering import compile_release, inline_css

from conftest import REPO
from release_helpers import SETTINGS, make_release, parse


@pytest.fixture
def pasted() -> Release:
    return make_release(REPO / "tests" / "data" / "releases" / "pasted-no-title.txt", "Eastside legal aid clinic closed",
                        contacts=[{"name": "Press Desk", "title": None, "organisation": None,
                                   "email": "press@rvtu.example", "phones": []}])


@pytest.mark.parametrize("variant", ["journalist", "supporter"])
def test_fixture_renders_as_email_with_inlined_css_and_text(pasted, variant):
    builder = MessageBuilder(compile_release(pasted, variant, SETTINGS), SETTINGS)
    raw = builder.build(Recipient("amira@levant.example", "Amira Haddad", "Levant Daily"), "ref123")
    msg = parse(raw)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    doc = lxml.html.document_fromstring(html)
    # CSS is inlined: the layout elements carry style attributes; only the phone @media block stays.
    assert "max-width:600px" in doc.xpath("//table[contains(@class,'container')]")[0].get("style")
    assert doc.xpath("//h1")[0].get("style")
    styles = doc.xpath("//style")
    assert len(styles) == 1 and "@media" in styles[0].text and "h1 {" not in styles[0].text.split("@media")[0]
    assert not doc.xpath("//script") and not doc.xpath("//link")
    assert "Portland, OR" in doc.xpath("//strong[@class='dateline']")[0].text_content()
    assert "Portland, OR – On Thursday, the River Valley Tenants Union" in text
    quote = "“We kept the lights on as long as we could, so please forgive us if nobody answers the phone.”"
    assert quote in html and quote in " ".join(text.split())
    assert len(html.encode()) < 102 * 1024
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998
    raw.decode("ascii")  # 7-bit clean: safe for any relay


def test_journalist_variant_is_a_press_release(sample):
    compiled = compile_release(sample, "journalist", SETTINGS)
    assert "For immediate release" in compiled.html and "FOR IMMEDIATE RELEASE" in compiled.text
    assert "Media contact" in compiled.html and "+41 22 555 01 23" in compiled.text
    assert "About Example Advocacy Network" in compiled.html
    assert "Ask your representative" not in compiled.html  # no marketing chrome for the press


def test_supporter_variant_has_the_call_to_action_button(sample):
    compiled = compile_release(sample, "supporter", SETTINGS)
    doc = lxml.html.document_fromstring(compiled.html)
    button = doc.xpath("//a[contains(@class,'button')]")[0]
    assert button.get("href") == "https://example.org/act/clinic-water"
    assert button.text_content() == "Ask your representative to fund clinic water"
    assert "Ask your representative to fund clinic water: https://example.org/act/clinic-water" in compiled.text
    html = MessageBuilder(compiled, SETTINGS).personalise(Recipient("x@y.example", "María López"), "r")[1]
    assert "Dear María," in html


def test_embargo_line_before_and_not_after_the_embargo(sample):
    sample.embargo_until = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)
    before = compile_release(sample, "journalist", SETTINGS, now=dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
    assert before.subject.startswith("EMBARGOED: ")
    assert "Embargoed until 14:00 UTC, Tuesday 1 December 2026" in before.html
    assert "For immediate release" not in before.html
    after = compile_release(sample, "journalist", SETTINGS, now=dt.datetime(2026, 12, 2, tzinfo=dt.UTC))
    assert not after.subject.startswith("EMBARGOED") and "For immediate release" in after.html
    ny = Settings(secret_key="k", timezone="America/New_York")
    assert "Embargoed until 09:00 EST, Tuesday 1 December 2026 (14:00 UTC)" in compile_release(
        sample, "journalist", ny, now=dt.datetime(2026, 11, 30, tzinfo=dt.UTC)).html


def test_release_text_cannot_inject_markup_or_template_code(tmp_path):
    path = tmp_path / "r.md"
    path.write_text(
        "---\ntitle: \"<b>Bold</b> {{ 7*7 }}\"\nsubtitle: \"{% raw %}x\"\n---\n"
        "LONDON – <script>alert(1)</script> {{ config }} <img src=x onerror=alert(1)> "
        "[click](javascript:alert(1)) DX__UNSUBSCRIBE_URL__DX\n"
    )
    release = make_release(path)
    for variant in ("journalist", "supporter"):
        compiled = compile_release(release, variant, SETTINGS)
        doc = lxml.html.document_fromstring(compiled.html)
        assert not doc.xpath("//script") and not doc.xpath("//img") and not doc.xpath("//b")
        assert "&lt;b&gt;Bold&lt;/b&gt; {{ 7*7 }}" in compiled.html
        assert "{{ config }}" in compiled.html and "49" not in compiled.html.replace(compiled.marker, "")
        assert not any((a.get("href") or "").startswith("javascript") for a in doc.iter("a"))


def test_compiled_message_round_trips_for_workers(sample):
    compiled = compile_release(sample, "supporter", SETTINGS)
    assert type(compiled).from_dict(compiled.to_dict()) == compiled


def test_inlining_an_external_stylesheet_opens_no_connection():
    """A <link> to a remote stylesheet must not be fetched while rendering."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    accepted = []

    def accept():
        try:
            accepted.append(server.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    html = (f'<html><head><link rel="stylesheet" href="http://127.0.0.1:{port}/evil.css">'
            '<style>p { color: red; }</style></head><body><p>x</p></body></html>')
    out = inline_css(html)
    thread.join()
    server.close()
    assert accepted == []
    assert 'style="color:red"' in out.replace(" ", "")


def test_each_compile_draws_its_own_marker(sample):
    first, second = (compile_release(sample, "journalist", SETTINGS) for _ in range(2))
    assert first.marker != second.marker
    assert first.html.replace(first.marker, "M") == second.html.replace(second.marker, "M")


# --- the release as the reader understood it, in its language ------------------------------------------

FRENCH = """COMMUNIQUÉ DE PRESSE
EMBARGO : 8 décembre 2026 à 00h01 (heure de Paris)

Les associations demandent un moratoire sur les expulsions

Paris, le 5 décembre 2026 – Un collectif de douze associations a publié ce samedi un rapport qui recense les familles menacées d'expulsion avant la trêve hivernale.

Le rapport formule trois recommandations :
• un moratoire immédiat ;
• un fonds d'urgence.

-FIN-

Notes aux rédactions
1. Le rapport complet est disponible sur demande.
2. Des entretiens sont possibles.

À propos du Collectif Logement Digne
Le Collectif réunit douze associations.

Contacts presse :
Marie Dupont – Chargée de communication
Tél. : +33 1 23 45 67 89
marie@exemple.fr

Paul Martin, porte-parole, 06 12 34 56 78
"""


@pytest.fixture
def french(tmp_path) -> Release:
    path = tmp_path / "communique.txt"
    path.write_text(FRENCH)
    return make_release(path)


def test_a_french_release_is_a_french_email(french):
    before = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    paris = Settings(secret_key="k", base_url="https://press.example.org", timezone="Europe/Paris")
    compiled = compile_release(french, "journalist", paris, now=before)
    doc = lxml.html.document_fromstring(compiled.html)
    assert doc.get("lang") == "fr" and doc.get("dir") == "ltr"
    shown = " ".join(doc.text_content().split())
    assert "COMMUNIQUÉ DE PRESSE" in shown and "Pour diffusion immédiate" not in shown  # the release's own label
    assert "Sous embargo jusqu’au mardi 8 décembre 2026, 00:01 CET (23:01 UTC)" in shown
    assert compiled.subject == "SOUS EMBARGO: Les associations demandent un moratoire sur les expulsions"
    assert "Paris, 5 décembre 2026 – Un collectif de douze associations" in shown
    assert [li.text_content() for li in doc.xpath("//td[contains(@class,'content')]//ul/li")] == [
        "un moratoire immédiat ;", "un fonds d'urgence."]
    assert doc.xpath("//p[@class='endmark']")[0].text_content() == "-FIN-"
    assert "Notes aux rédactions" in shown and [li.text_content() for li in doc.xpath("//ol/li")] == [
        "Le rapport complet est disponible sur demande.", "Des entretiens sont possibles."]
    assert "À propos du Collectif Logement Digne" in shown and "À propos de Example Advocacy Network" not in shown
    assert "Contacts presse" in shown
    assert [a.get("href") for a in doc.iter("a") if a.get("href", "").startswith("tel:")] == ["tel:+33123456789", "tel:0612345678"]
    assert "Se désabonner" in shown and "Choisir ce que vous recevez" in shown
    text = compiled.text
    assert "NOTES AUX RÉDACTIONS\n1. Le rapport complet est disponible sur demande." in text
    assert "- un moratoire immédiat ;\n- un fonds d'urgence." in text
    assert "Marie Dupont, Chargée de communication\nmarie@exemple.fr\n+33 1 23 45 67 89" in text
    assert compiled.reply_to == "marie@exemple.fr" and compiled.reply_to_name == "Marie Dupont"
    html = MessageBuilder(compile_release(french, "supporter", SETTINGS), SETTINGS).personalise(
        Recipient("x@y.example", "Léa Martin", "Le Journal"), "r")[1]
    assert "Bonjour Léa," in html and "Ce courriel a été envoyé à Léa Martin (x@y.example) (Le Journal)." in html


def test_an_arabic_release_is_right_to_left(tmp_path):
    path = tmp_path / "bayan.txt"
    path.write_text("بيان صحفي\n\nمنظمات المجتمع المدني تطالب بممر إنساني آمن\n\nبيروت، 5 كانون الأول/ديسمبر 2026 – طالبت اثنتا "
                    "عشرة منظمة من منظمات المجتمع المدني اليوم بفتح ممر إنساني آمن لإجلاء المدنيين.\n")
    compiled = compile_release(make_release(path), "journalist", SETTINGS)
    doc = lxml.html.document_fromstring(compiled.html)
    assert (doc.get("lang"), doc.get("dir")) == ("ar", "rtl")
    assert doc.xpath("//table[contains(@class,'wrapper')]")[0].get("dir") == "rtl"
    assert "بيروت، 5 ديسمبر 2026 –" in doc.text_content()
    assert "إلغاء الاشتراك" in doc.text_content()


def test_no_label_and_no_embargo_says_for_immediate_release_and_the_end_mark_defaults(sample):
    compiled = compile_release(sample, "journalist", SETTINGS)
    assert "FOR IMMEDIATE RELEASE\n" in compiled.text and "\n###\n" in compiled.text
    assert "Geneva, 25 November 2026 – A survey of 412" in " ".join(compiled.text.split())


def test_an_arabic_contact_line_uses_the_arabic_comma():
    from distribute.releases.rendering import contacts_for

    release = Release(language="ar", contacts=[{"name": "ريم الخطيب", "title": "منسقة الشبكة", "organisation": None,
                                                "email": "reem@example.org", "phones": []}])
    assert contacts_for(release)[0]["line"] == "ريم الخطيب، منسقة الشبكة"
    release.language = "fr"
    assert contacts_for(release)[0]["line"] == "ريم الخطيب, منسقة الشبكة"
