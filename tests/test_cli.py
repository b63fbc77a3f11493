"""The CLI: one line and a non-zero exit for user errors, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from segsweep.cli import main


def _segsweep(*args, cwd):
    return subprocess.run([sys.executable, "-m", "segsweep", *args], cwd=cwd, capture_output=True, text=True)


def test_bad_params_file_gives_one_line(tmp_path, tiny_params):
    tiny_params["splits"]["train_fractions"] = [1.5]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    res = _segsweep("validate", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "error: params.yaml: splits.train_fractions[0] = 1.5: must be less than or equal to 1"
    ]


def test_a_key_given_twice_is_an_error_not_the_last_one(tmp_path, tiny_params):
    """Issue 26: `epochs: 2` then `epochs: 50` validated and trained 50 (PyYAML keeps the
    last); DVC refuses the same file. One line naming the file, the line and the key."""
    text = yaml.safe_dump(tiny_params).replace("  epochs: 2\n", "  epochs: 2\n  epochs: 50\n")
    assert text.count("epochs:") == 2
    (tmp_path / "params.yaml").write_text(text)
    res = _segsweep("validate", cwd=tmp_path)
    line = next(i for i, x in enumerate(text.splitlines()) if "epochs: 50" in x) + 1
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"error: params.yaml: line {line} not valid YAML: duplicate key 'epochs' (first on line {line - 1})"
    ]


def test_unknown_dataset_and_bad_cfg(tmp_path, tiny_params, capsys):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    assert (
        main(["synth", "--params", str(tmp_path / "params.yaml"), "--dataset", "lesion", "--out", str(tmp_path / "o")])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --dataset lesion: no such dataset in") and "(did you mean 'lesion2d'?)" in err
    assert main(["prepare", "--cfg", '{"clahe": {"clip_limit": 0}}', "--src", "x", "--out", "y"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --cfg: preprocess.prepare.clahe.clip_limit = 0: must be greater than 0"


def test_missing_input_folder_is_named(tmp_path, tiny_params):
    tiny_params["datasets"] = {"mine": {"kind": "folder2d", "root": str(tmp_path / "nowhere")}}
    tiny_params["train"] = {"dataset": "mine"}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    res = _segsweep("ingest", "--dataset", "mine", "--out", "o", cwd=tmp_path)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "nowhere: empty dataset: no file matches datasets.mine.image_glob" in res.stderr


def test_validate_json_prints_resolved_params(tmp_path, tiny_params):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    res = _segsweep("validate", "--json", cwd=tmp_path)
    resolved = yaml.safe_load(res.stdout)
    assert resolved["preprocess"]["prepare"]["clahe"]["clip_limit"] == 2.0  # defaults filled in


def test_a_full_disk_or_a_denied_path_is_one_line_and_debug_shows_the_traceback(tmp_path, monkeypatch, capsys):
    import errno

    from segsweep import cli
    from segsweep.cli import study

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out/x.pt"))

    monkeypatch.setattr(study, "cmd_grid", full)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"datasets": {"d": {"kind": "synth2d"}}}))
    argv = ["grid", "--params", str(tmp_path / "params.yaml")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert (
        err.strip().splitlines()[-1]
        == f"error: {tmp_path / 'out/x.pt'}: no space left on the device (No space left on device)"
    )
    assert "Traceback" not in err
    assert cli.main(["--debug", *argv]) == 2
    assert "Traceback" in capsys.readouterr().err

    def bug(args):
        raise KeyError("a bug")

    monkeypatch.setattr(study, "cmd_grid", bug)
    with pytest.raises(KeyError):  # not a user error: the traceback stays
        cli.main(argv)


def test_torch_full_disk_message_names_the_output():
    from segsweep.errors import system_message

    exc = RuntimeError("basic_ios::clear: iostream error")
    assert system_message(exc, "results/cells/a") == (
        "results/cells/a: writing failed (basic_ios::clear: iostream error); is the disk full?"
    )
    assert system_message(ValueError("x")) is None


@pytest.mark.parametrize(
    "argv",
    [
        ["probe", "pixels", "--snapshots", "s", "--out", "o"],
        ["probe", "patches", "--snapshots", "s", "--out", "o"],
        ["landscape", "cell", "--out", "o"],
    ],
)
def test_a_cell_verb_without_its_cell_settings_is_one_line(tmp_path, tiny_params, capsys, argv):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    assert main([*argv, "--params", str(tmp_path / "params.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and err.endswith("needs --cell-cfg (the cell's train section as JSON)")


def test_report_reads_its_settings_from_params_too(tmp_path, tiny_params, monkeypatch):
    """`--params FILE` works for every verb, as the CLI's docstring says (it used to fail
    with "--cfg: report = null")."""
    import segsweep.report.build as build

    tiny_params["report"] = {"title": "from the file"}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    (tmp_path / "grid.json").write_text('{"cells": [], "studies": {}}')
    seen = {}
    monkeypatch.setattr(build, "build_report", lambda cfg, *a: seen.setdefault("cfg", cfg) and tmp_path)
    assert (
        main(
            [
                "report",
                "--params",
                str(tmp_path / "params.yaml"),
                "--grid",
                str(tmp_path / "grid.json"),
                "--summary",
                str(tmp_path),
                "--params-json",
                str(tmp_path / "grid.json"),
                "--out",
                "o",
            ]
        )
        == 0
    )
    assert seen["cfg"].title == "from the file"


def test_pdf_font_subsetting_does_not_flood_the_logs(tmp_path, tiny_params):
    import logging

    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    logging.getLogger("fontTools").setLevel(logging.NOTSET)
    assert main(["validate", "--params", str(tmp_path / "params.yaml")]) == 0
    assert logging.getLogger("fontTools.subset").getEffectiveLevel() == logging.WARNING


def test_each_verb_lives_in_its_stages_module_and_digests_only_that_one():
    """The CLI was split by file length (cli.py parsed every verb, cli_analysis.py
    handled some); a change to the report's verbs made every training job stale."""
    from segsweep.codegraph import handlers, verb_modules

    where = {verb: module.rsplit(".", 1)[-1] for verb, (module, _) in handlers().items()}
    assert where == {
        "validate": "study",
        "grid": "study",
        "synth": "data",
        "ingest": "data",
        "inspect": "data",
        "collect": "data",
        "split": "data",
        "prepare": "preprocess",
        "augment": "preprocess",
        "patches": "preprocess",
        "train": "train",
        "summarize": "train",
        "probe": "probe",
        "landscape": "landscape",
        "report": "report",
        "reference": "report",
        "examples": "report",
    }
    train = verb_modules({"train"})
    assert {"segsweep.cli", "segsweep.cli.common", "segsweep.cli.train", "segsweep.train.loop"} <= train
    assert not {"segsweep.cli.report", "segsweep.cli.probe", "segsweep.report.build"} & train
    assert len(main.__module__.split(".")) == 2  # segsweep.cli: the entry point pyproject names
