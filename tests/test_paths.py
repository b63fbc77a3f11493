"""segsweep.paths agrees with the rules: every path it computes is written by a rule."""

from __future__ import annotations

import re

import pytest

from segsweep import paths
from tests.conftest import REPO


def _output_patterns() -> list[re.Pattern]:
    """The rules' output paths as regexes (``{cell}`` -> one path segment)."""
    patterns = []
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for block in re.findall(r"\n    output:\n(.*?)\n    \w+:", smk.read_text(), re.S):
            for text in re.findall(r'"([^"]+)"', block):
                if "/" in text:
                    parts = re.split(r"(\{[^}]+\})", text)
                    patterns.append(re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)))
    return patterns


@pytest.mark.parametrize(
    "path",
    [
        paths.prepared("lesion2d"),
        paths.processed("lesion2d", 0.05),
        paths.split("lesion2d", 0.25, 1),
        paths.cell_dir("opt-sgd") + "/metrics.json",  # a folder no rule declares: its files
        paths.processed("lesion2d", 0.0),
        paths.snapshots("opt-sgd"),
    ],
)
def test_every_path_is_a_rule_output(path):
    patterns = _output_patterns()
    assert len(patterns) > 20  # the parse found the rules' outputs
    assert any(p.fullmatch(path) for p in patterns), f"{path}: no rule writes it"
