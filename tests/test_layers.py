"""The house flows one way: config -> data -> train -> probe / landscape -> report.

Every top-level module or package of segsweep sits in one layer and imports (at module
level or inside functions) only from lower layers or from itself, so there is no
import cycle and no climb back up. A new module must be placed here.
"""

from __future__ import annotations

from segsweep.codegraph import SRC, _imports, _tree, module_path

LAYERS = [
    {"errors", "paths", "progress", "codegraph", "filetimes", "figure_text"},  # no segsweep imports
    {"io", "runtime", "registry"},
    {"figures"},
    {"config"},  # typed params
    {"grid", "data", "splits", "fingerprint", "metrics", "losses", "models", "optim", "checkpoint", "cluster"},
    {"study", "preprocess"},
    {"train", "reference", "study_results"},
    {"probe", "landscape"},
    {"report"},
    {"cli"},
    {"docgen"},  # reference pages from config and cli
    {"__main__"},
]
RANK = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}


def _modules() -> list[str]:
    out = []
    for path in (SRC / "segsweep").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(out)


def _unit(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def _climbs(unit: str, imported: set[str]) -> list[str]:
    """The imported modules of another unit in ``unit``'s layer or above."""
    return sorted(m for m in imported if _unit(m) not in ("", unit) and RANK.get(_unit(m), 99) >= RANK[unit])


def test_every_module_imports_only_lower_layers():
    climbs = []
    for mod in _modules():
        unit = _unit(mod)
        if not unit:
            continue
        assert unit in RANK, f"{mod}: place '{unit}' in a layer of tests/test_layers.py"
        package = mod if module_path(mod).name == "__init__.py" else mod.rpartition(".")[0]
        climbs += [f"{mod} imports {m}" for m in _climbs(unit, _imports([_tree(mod)], package))]
    assert climbs == []


def test_the_check_sees_a_climb():
    assert _climbs("config", {"segsweep.grid", "segsweep.errors"}) == ["segsweep.grid"]  # config<->grid, once
    assert _climbs("train", {"segsweep.report.build", "segsweep.losses"}) == ["segsweep.report.build"]
    assert _climbs("grid", {"segsweep.data.cases"}) == ["segsweep.data.cases"]  # same layer: no sideways either
