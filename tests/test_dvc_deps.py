"""dvc.yaml's code deps are complete: every module a stage's jobs can import is a dep of
that stage, so a changed module makes ``dvc status`` report every stage that runs it.

The import graph (``segsweep.codegraph``, which also gives the jobs' code digests) is
read from the source, not by importing: module-level imports and the imports inside
functions (the CLI imports lazily), followed transitively from the CLI handlers of
the verbs each stage's rules call.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from segsweep.codegraph import code_digest, module_path, verb_modules
from tests.conftest import REPO

# the CLI verbs the rules of each DVC stage call (checked against workflow/rules below)
STAGE_VERBS = {
    "data": {"synth", "ingest", "collect"},
    "preprocess": {"prepare", "augment", "patches"},
    "splits": {"split"},
    "train": {"train", "summarize"},
    "probe": {"probe"},
    "landscape": {"landscape"},
    "report": {"report", "reference", "examples"},
}
# the DAG's own code: every stage's jobs are planned by it
DAG_CODE = (
    "Snakefile",
    "workflow/rules/common.smk",
    "workflow/rules/fingerprint.smk",
    "workflow/rules/fingerprint_align.smk",
    "workflow/rules/functions.smk",
    "src/segsweep/fingerprint.py",
    "src/segsweep/codegraph.py",
    "src/segsweep/study.py",
    "src/segsweep/grid.py",
)


def covered(path: Path, deps: list[str]) -> bool:
    rel = path.relative_to(REPO)
    return any(rel == Path(d) or Path(d) in rel.parents for d in deps)


def test_stage_verbs_match_the_rules():
    used = set()
    for smk in (REPO / "workflow/rules").glob("*.smk"):
        # every tracked command starts with RUN (workflow/rules/fingerprint.smk)
        used |= set(re.findall(r"--fingerprint \{params\.fingerprint\} ([a-z_]+)", smk.read_text()))
    assert used == set().union(*STAGE_VERBS.values())


def test_every_module_a_stage_imports_is_a_dep_of_that_stage():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert set(stages) == set(STAGE_VERBS)
    missing = {}
    for stage, verbs in STAGE_VERBS.items():
        deps = [next(iter(d)) if isinstance(d, dict) else d for d in stages[stage].get("deps", [])]
        lost = sorted(
            str(module_path(m).relative_to(REPO)) for m in verb_modules(verbs) if not covered(module_path(m), deps)
        )
        lost += [f for f in DAG_CODE if f not in deps]
        if lost:
            missing[stage] = lost
    assert missing == {}


def test_the_import_graph_sees_lazy_imports():
    """The check can fail: the report handler imports the report package inside the
    function, and the training handler reaches the losses through the train loop."""
    assert "segsweep.report.build" in verb_modules({"report"})
    train = verb_modules({"train"})
    assert {"segsweep.train.loop", "segsweep.losses", "segsweep.config"} <= train
    assert "segsweep.report.build" not in train


def test_code_digest_follows_the_verbs_modules():
    train, report = code_digest(frozenset({"train"})), code_digest(frozenset({"report"}))
    assert len(train) == 64 and train != report
    assert code_digest(frozenset({"train"})) == train
    with pytest.raises(ValueError, match="not a segsweep verb: nope"):
        verb_modules({"nope"})


def test_every_dep_exists_and_every_code_dep_is_used():
    """A dep that no longer exists fails `dvc repro` (registries.py was removed and
    stayed listed); a module no job of the stage imports makes `dvc status` report the
    stage changed when it is not."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    problems = []
    for stage, verbs in STAGE_VERBS.items():
        used = {module_path(m) for m in verb_modules(verbs)} | {REPO / f for f in DAG_CODE}
        for dep in (next(iter(d)) if isinstance(d, dict) else d for d in stages[stage].get("deps", [])):
            path = REPO / dep
            if dep.startswith(("src/", "workflow/", "Snakefile")) and not path.exists():
                problems.append(f"{stage}: {dep} does not exist")
            elif dep.startswith("src/") and not any(u == path or path in u.parents for u in used):
                problems.append(f"{stage}: {dep} is imported by none of {sorted(verbs)}")
    assert problems == []
