"""The language a release is written in, when neither `--language` nor the front matter says.

py3langid (a maintained fork of langid.py): a naive Bayes model over byte n-grams that ships
inside the package (4 MB), runs offline, and gives the same answer for the same text every
time. It is restricted to the languages a release is expected in (release_conventions), so a
short French text is never called Walloon; below a clear majority the default is kept rather
than guessed.
"""

from __future__ import annotations

from functools import lru_cache

from distribute.releases.conventions import DEFAULT_LANGUAGE, DETECTED_LANGUAGES

MIN_CHARACTERS = 40
MIN_CONFIDENCE = 0.9


@lru_cache(maxsize=1)
def _identifier():
    # Loaded on first use (about half a second): most commands never read a release.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(DETECTED_LANGUAGES))
    return identifier


def detect(text: str, default: str = DEFAULT_LANGUAGE) -> str:
    text = " ".join(text.split())
    if len(text) < MIN_CHARACTERS:
        return default
    language, confidence = _identifier().classify(text)
    return language if confidence >= MIN_CONFIDENCE else default
