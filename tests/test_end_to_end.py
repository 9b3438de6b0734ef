"""The whole product path on the bundled data with the real backbone (a few steps on CPU)."""

import json

import pytest
from transformers import pipeline

from data.labels import LABELS
from tests.conftest import ROOT, run_cli


@pytest.mark.slow
def test_build_train_eval_predict_pipeline(tmp_path):
    data, model, report, preds = tmp_path / "data", tmp_path / "model", tmp_path / "report", tmp_path / "p.jsonl"
    res = run_cli("-m", "data", "build", "--out", str(data), "--seed", "1")
    assert res.returncode == 0, res.stderr
    assert "source authored:" in res.stdout and "| test | all |" in res.stdout

    res = run_cli("-m", "train", "--data", str(data), "--output-dir", str(model), "--max-steps", "6",
                  "--batch-size", "16", "--device", "cpu")
    assert res.returncode == 0, res.stderr[-3000:]
    config = json.loads((model / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(len(LABELS))] == list(LABELS)
    for name in ("model.safetensors", "tokenizer.json", "metrics.json", "training_args.json", "README.md"):
        assert (model / name).is_file(), name
    # real corpora beside the checkout bring span gold, and then the span model is part of the output
    has_spans = (ROOT.parent / "shared" / "corpora").is_dir()
    assert (model / "spans" / "config.json").is_file() == has_spans
    assert not (model / "span-checkpoints").exists()
    assert not (model / "checkpoints").exists() and not list(model.glob("*.bin"))
    assert "| test |" in (model / "README.md").read_text()

    # calibration (temperature folded into the head) must not make validation NLL worse
    import numpy as np
    from datasets import load_from_disk

    from model.classifier import Classifier

    val = load_from_disk(str(data))["validation"]
    probs = Classifier.load(model, "cpu").predict_proba(val["text"], val["context"])
    t = json.loads((model / "stance_config.json").read_text())["temperature_folded_into_head"]
    y = np.array(val["label"])
    logp = np.log(np.clip(probs, 1e-12, 1))
    raw = logp * t - np.logaddexp.reduce(logp * t, axis=1, keepdims=True)
    assert -logp[np.arange(len(y)), y].mean() <= -raw[np.arange(len(y)), y].mean() + 1e-6

    # a second run into the same folder must not silently replace the model
    res = run_cli("-m", "train", "--data", str(data), "--output-dir", str(model), "--max-steps", "1")
    assert res.returncode == 2 and "already holds a model" in res.stderr

    res = run_cli("-m", "eval", "--model", str(model), "--data", str(data), "--out", str(report))
    assert res.returncode == 0, res.stderr[-3000:]
    rep = json.loads((report / "report.json").read_text())
    assert 0 <= rep["macro_f1"] <= 1 and rep["n"] > 0

    res = run_cli("scripts/predict.py", "--model", str(model), "--input", str(ROOT / "data" / "examples"),
                  "--output", str(preds), "--quiet")
    assert res.returncode == 0, res.stderr[-3000:]
    records = [json.loads(line) for line in preds.read_text().splitlines()]
    assert len(records) > 20
    if has_spans:  # one folder is one product: the span model came along, and predictions carry spans
        assert all({"source", "cue", "figure", "source_resolved"} <= set(r) for r in records)
        assert "spans" in rep and set(rep["spans"]["systems"]) == {"span model", "rules"}
        spans = pipeline("token-classification", model=str(model / "spans"), aggregation_strategy="simple",
                         device="cpu")
        text = "Unemployment rose to 6.1 pct, the statistics office said."
        assert all(text[e["start"]:e["end"]] for e in spans(text))

    clf = pipeline("text-classification", model=str(model), device="cpu")
    single = clf("The claim could not be independently verified.")
    pair = clf({"text": "He denied it.", "text_pair": "The minister was accused of taking bribes."}, top_k=None)
    assert single[0]["label"] in LABELS
    assert sorted(p["label"] for p in pair) == sorted(LABELS)
