"""Code digests mean behaviour: comments, docstrings and formatting change nothing,
a changed statement changes the digest (issue 26: a comment reran the whole study)."""

from __future__ import annotations

from segsweep.codegraph import behaviour, code_digest

SOURCE = '''"""A loss."""

import torch


def loss(x):
    """Mean of x."""
    return torch.mean(x)  # why: the batch mean
'''


def test_comments_docstrings_and_layout_are_not_behaviour():
    edited = SOURCE.replace('"""A loss."""', '"""A loss, documented better."""').replace("# why", "# because")
    edited = edited.replace("return torch.mean(x)", "return torch.mean(\n        x\n    )") + "\n# the end\n"
    assert behaviour(edited) == behaviour(SOURCE)
    only_doc = 'def f():\n    """Only a docstring."""\n'
    assert behaviour(only_doc) == behaviour('def f():\n    """Another."""\n')


def test_a_changed_statement_is_behaviour():
    assert behaviour(SOURCE.replace("torch.mean", "torch.sum")) != behaviour(SOURCE)
    assert behaviour(SOURCE.replace("mean(x)", "mean(x * 2)")) != behaviour(SOURCE)


def test_a_verbs_digest_is_stable():
    assert code_digest(frozenset({"train"})) == code_digest(frozenset({"train"}))
    assert code_digest(frozenset({"train"})) != code_digest(frozenset({"report"}))
