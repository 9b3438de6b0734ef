"""Training options: a seeded subset of the gold training split, and the training precision."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run_train(*args):
    return subprocess.run([sys.executable, "-m", "train", *args], cwd=ROOT, capture_output=True, text=True)


def test_subset_and_bf16_training(tiny_model, mini_corpus, tmp_path):
    from transformers import pipeline

    from data.build import build, load_built

    corpus, ann = mini_corpus
    build(tmp_path / "dd", corpus, seed=0, annotation_dir=ann)
    common = ("--data", str(tmp_path / "dd"), "--base-model", str(tiny_model), "--max-steps", "2", "--device", "cpu")
    res = run_train(*common, "--output-dir", str(tmp_path / "m"), "--max-train-samples", "10", "--dtype", "bf16")
    assert res.returncode == 0, res.stderr[-2000:]
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["gold_train_sentences"] == 10 < len(load_built(tmp_path / "dd")["train"])
    assert metrics["precision"] == "bf16"
    # the saved weights are fp32 whatever the training precision, so the pipeline loads them as usual
    assert pipeline("text-classification", model=str(tmp_path / "m"))("The mayor denied it.")[0]["label"]


@pytest.mark.parametrize("flags, message", [
    (("--dtype", "fp16"), "fp16 needs --device cuda"),
    (("--max-train-samples", "0"), "--max-train-samples must be at least 1"),
])
def test_bad_training_options_are_one_line_errors(tiny_model, tmp_path, flags, message):
    out = tmp_path / "m"
    res = run_train("--data", str(tmp_path / "missing"), "--output-dir", str(out), "--base-model", str(tiny_model),
                    "--device", "cpu", *flags)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_learning_curve_runs_each_point_once(tiny_model, mini_corpus, tmp_path):
    from data.build import build

    corpus, ann = mini_corpus
    build(tmp_path / "dd", corpus, seed=0, annotation_dir=ann)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(f"model: {{base_model: {tiny_model}}}\ntraining: {{max_steps: 2, report_to: none}}\n")
    cmd = [sys.executable, "scripts/learning_curve.py", "--data", str(tmp_path / "dd"), "--out", str(tmp_path / "c"),
           "--recipe", f"tiny={cfg}", "--sizes", "5", "12", "--seeds", "1", "2", "--device", "cpu"]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = json.loads((tmp_path / "c" / "learning_curve.json").read_text())
    assert [(r["recipe"], r["train_sentences"], len(r["test_macro_f1"])) for r in rows] == [("tiny", 5, 2), ("tiny", 12, 2)]
    runs = sorted(p.name for p in (tmp_path / "c" / "runs").iterdir())
    assert runs == ["tiny-n12-s1.json", "tiny-n12-s2.json", "tiny-n5-s1.json", "tiny-n5-s2.json"]
    assert json.loads((tmp_path / "c" / "runs" / "tiny-n5-s2.json").read_text())["gold_train_sentences"] == 5
    assert (tmp_path / "c" / "learning_curve.png").stat().st_size > 0
    assert not (tmp_path / "c" / "model-in-training").exists()
    # finished points are read back, not trained again
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0 and "seed" not in res.stdout.split("| recipe")[0]
    bad = [("tiny" if a == f"tiny={cfg}" else a) for a in cmd]
    res = subprocess.run(bad, cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and "NAME=CONFIG_FILE" in res.stderr and "Traceback" not in res.stderr


def test_a_shallower_model_keeps_the_first_layers_and_its_span_model_follows(tiny_model, mini_corpus, tmp_path):
    from transformers import AutoConfig, pipeline

    from data.build import build

    corpus, ann = mini_corpus
    build(tmp_path / "dd", corpus, seed=0, annotation_dir=ann)
    cfg = tmp_path / "shallow.yaml"  # as train/configs/fastest.yaml does with 3 of MiniLM's 6 layers
    cfg.write_text(f"model: {{base_model: {tiny_model}, layers: 1}}\ntraining: {{max_steps: 2, report_to: none}}\n"
                   "spans: {negatives: 0}\n")
    res = run_train("--data", str(tmp_path / "dd"), "--output-dir", str(tmp_path / "m"), "--config", str(cfg),
                    "--device", "cpu", "--class-weighting", "none")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "unweighted loss" in (tmp_path / "m" / "README.md").read_text()  # the flag overrides the recipe
    assert json.loads((tmp_path / "m" / "spans" / "span_metrics.json").read_text())["test"]["sentences"] > 0
    assert AutoConfig.from_pretrained(tiny_model).num_hidden_layers == 2
    assert AutoConfig.from_pretrained(tmp_path / "m").num_hidden_layers == 1
    assert AutoConfig.from_pretrained(tmp_path / "m" / "spans").num_hidden_layers == 1
    assert pipeline("text-classification", model=str(tmp_path / "m"))("The mayor denied it.")[0]["label"]


def test_a_recipes_step_budget_is_the_classifiers_and_epochs_override_it(tiny_model, mini_corpus, tmp_path):
    """quickstart.yaml caps the classifier by max_steps. The span model still trains its own epochs, and
    `--epochs N` (EPOCHS=N in the quick start) still means N epochs."""
    from data.build import build

    corpus, ann = mini_corpus
    build(tmp_path / "dd", corpus, seed=0, annotation_dir=ann)
    cfg = tmp_path / "budget.yaml"
    cfg.write_text(f"model: {{base_model: {tiny_model}}}\n"
                   "training: {max_steps: 1, per_device_train_batch_size: 4, report_to: none}\n"
                   "spans: {epochs: 1, batch_size: 2}\n")
    common = ("--data", str(tmp_path / "dd"), "--config", str(cfg), "--device", "cpu")
    runs = {"budget": (), "epochs": ("--epochs", "2", "--no-spans", "--max-train-samples", "8")}
    for out, extra in runs.items():
        res = run_train(*common, "--output-dir", str(tmp_path / out), *extra)
        assert res.returncode == 0, res.stderr[-2000:]
    budget, epochs = (json.loads((tmp_path / out / "metrics.json").read_text()) for out in runs)
    assert budget["validation"]["epoch"] < 1 and epochs["validation"]["epoch"] == 2.0
    spans = budget["spans"]
    assert spans["steps"] == -(-spans["train_sentences"] // 2) > 1  # one whole epoch, not the classifier's 1 step
