"""Every field of every release in the corpus (tests/data/releases/corpus/) is read as a careful
reader would read it, and the releases that must be refused are refused on the right line for the
right reason. The expected values are in NAME.expected.yaml beside each release."""

import pytest

from distribute.releases import content
from distribute.releases.store import ReleaseError, read_release

from release_corpus import UTC, describe, error_miss, expected_for, misses, releases

RELEASES = releases()


def test_the_corpus_is_large_and_varied_enough():
    # The genre checks need enough releases per language that one lucky rule cannot pass them.
    good = [p for p in RELEASES if "error" not in expected_for(p)]
    languages = [expected_for(p)["language"] for p in good]
    assert len(good) >= 30
    for lang, least in {"fr": 4, "es": 3, "de": 3, "ar": 2}.items():
        assert languages.count(lang) >= least, lang
    assert len(RELEASES) - len(good) >= 3


@pytest.mark.parametrize("path", RELEASES, ids=lambda p: p.name)
def test_release_is_read_as_a_careful_reader_would(path):
    expected = expected_for(path)
    draft = refusal = None
    try:
        draft = read_release(path, zone=UTC)
    except ReleaseError as exc:
        refusal = exc
    if "error" in expected:
        problem = error_miss(expected["error"], refusal)
        if problem:
            pytest.fail(f"{path.name}: {problem}", pytrace=False)
        return
    if refusal is not None:
        pytest.fail(f"{path.name}: refused on line {refusal.line} ({refusal.reason}), but a careful reader reads it",
                    pytrace=False)
    wrong = misses(expected, draft, blocks=getattr(content, "blocks", None))
    if wrong:
        pytest.fail(f"{len(wrong)} field(s) differ\n" + describe(path.name, wrong), pytrace=False)
