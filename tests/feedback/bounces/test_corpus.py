"""sisimai's labelled corpus of real bounces (../shared/fixtures/bounces-sisimai, beside the
project: CI has it, a fresh clone on its own skips this): bench/bounce_corpus.py measures how far
our judgement agrees with its labels, and this test holds it to the goal."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from conftest import FIXTURES, REPO

SISIMAI = FIXTURES / "bounces-sisimai"



def _script():
    if "bounce_corpus" not in sys.modules:  # dataclasses look their module up there
        spec = importlib.util.spec_from_file_location("bounce_corpus", REPO / "bench" / "bounce_corpus.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["bounce_corpus"] = module
        spec.loader.exec_module(module)
    return sys.modules["bounce_corpus"]


@pytest.mark.skipif(not (SISIMAI / "labels.json").exists(),
                    reason="../shared/fixtures/bounces-sisimai is not beside the project")
def test_agreement_with_sisimai_labels(capsys):
    corpus = _script()
    figures = corpus.figures(corpus.measure(SISIMAI))
    with capsys.disabled():
        print(f"\n{corpus.summary(figures)}")
    assert figures.messages >= 300
    assert figures.agreement >= corpus.GOAL_AGREEMENT
    assert figures.false_hard_rate <= corpus.GOAL_FALSE_HARD


def test_the_script_fails_below_the_goal(tmp_path):
    # One labelled-hard message we cannot read at all: agreement 0, so exit status 1.
    (tmp_path / "messages").mkdir()
    (tmp_path / "messages" / "x-01.eml").write_bytes(b"Subject: hello\n\nnothing here\n")
    (tmp_path / "labels.json").write_text('{"x-01.eml": [{"hard": true, "reason": "userunknown", "status": "5.1.1",'
                                          ' "replycode": "550", "feedbacktype": ""}]}')
    corpus = _script()
    assert corpus.main(["--corpus", str(tmp_path)]) == 1
    assert corpus.main(["--corpus", str(tmp_path / "nowhere")]) == 2
