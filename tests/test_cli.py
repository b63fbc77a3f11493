"""The CLI: one line and a non-zero exit for user errors, no traceback."""

from __future__ import annotations

import subprocess
import sys

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
        "error: params.yaml: splits.train_fractions[0] = 1.5: must be less than or equal to 1"]


def test_unknown_dataset_and_bad_cfg(tmp_path, tiny_params, capsys):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    assert main(["synth", "--params", str(tmp_path / "params.yaml"), "--dataset", "lesion", "--out", str(tmp_path / "o")]) == 2
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
