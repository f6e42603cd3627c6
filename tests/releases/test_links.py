"""distribute.releases.links without a database: link rewriting and placeholders."""

from __future__ import annotations

import lxml.html

from distribute.releases.links import add_tracking, click_index, click_name
from distribute.releases.rendering import compile_release, placeholder, placeholder_pattern

from release_helpers import MARKER, SETTINGS, compiled, make_release


def click_placeholder(n: int) -> str:
    return placeholder(click_name(n), MARKER)


def test_placeholders_round_trip_and_stay_letters():
    for n in (0, 1, 25, 26, 27, 700, 12345):
        name = click_placeholder(n)
        assert placeholder_pattern(MARKER).fullmatch(name)
        assert click_index(placeholder_pattern(MARKER).fullmatch(name).group(1).lower()) == n


def test_only_plain_http_links_are_rewritten():
    html = ('<a href="https://example.org/a?x=1&amp;y=2">a</a> <a href="mailto:p@example.org">m</a> '
            '<a href="#top">t</a> <a href="https://example.org/a?x=1&amp;y=2">again</a> '
            '<a href="https://example.org/b&#10;c">control</a> <a href="javascript:alert(1)">j</a> '
            f'<a href="{MARKER}__UNSUBSCRIBE_URL__DX">u</a>')
    tracked = add_tracking(compiled(html, "Read https://example.org/a?x=1&y=2. Or https://other.example/z"))
    assert tracked.links == ("https://example.org/a?x=1&y=2",)  # one entry, however often it appears
    assert tracked.html.count(click_placeholder(0)) == 2
    hrefs = [a.get("href") for a in lxml.html.document_fromstring(tracked.html).iter("a")]
    # The link with a control character is left as written (lxml writes the LF as %0A).
    assert hrefs == [click_placeholder(0), "mailto:p@example.org", "#top", click_placeholder(0),
                     "https://example.org/b%0Ac", "javascript:alert(1)", f"{MARKER}__UNSUBSCRIBE_URL__DX"]
    assert tracked.text == f"Read {click_placeholder(0)}. Or https://other.example/z"
    assert f"{MARKER}__OPEN_URL__DX" in tracked.html


def test_only_real_anchors_are_links_not_href_written_in_text(tmp_path):
    path = tmp_path / "r.md"
    path.write_text('---\ntitle: T\n---\nLONDON – Type href="https://evil.example/" into the page, or '
                    '<a href="https://evil.example/x">this</a>. Read [the report](https://example.org/report).\n\n'
                    "Xhttps://example.org/report is not a link.\n")
    tracked = add_tracking(compile_release(make_release(path), "journalist", SETTINGS))
    assert [link for link in tracked.links if "example.org/report" in link or "evil" in link] == [
        "https://example.org/report"]
    report = tracked.placeholder(click_name(tracked.links.index("https://example.org/report")))
    shown = lxml.html.document_fromstring(tracked.html).text_content()
    assert 'href="https://evil.example/"' in shown and 'href="https://evil.example/x"' in shown
    assert report in tracked.text and "Xhttps://example.org/report is not a link" in tracked.text
    assert "https://evil.example/" in tracked.text
