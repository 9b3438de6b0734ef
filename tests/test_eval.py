import json

import pytest

from data.labels import LABELS
from eval.metrics import score
from tests.conftest import SENTENCES, run_cli


def test_metric_on_a_hand_made_example():
    # gold:  a a d u   pred: a d d u -> asserted P=1 R=.5 F=.667; disputed P=.5 R=1 F=.667; unverified F=1
    m = score([0, 1, 1, 2], [0, 0, 1, 2])
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["per_label"]["asserted"]["f1"] == pytest.approx(2 / 3)
    assert m["per_label"]["disputed"]["precision"] == pytest.approx(0.5)
    # labels absent from gold and predictions count as 0 in the macro average
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1 + 0 + 0) / 5)
    assert m["confusion_matrix"][0] == [1, 1, 0, 0, 0]


def test_eval_cli_writes_report(tiny_model, tmp_path):
    data = tmp_path / "gold.jsonl"
    data.write_text("".join(json.dumps({"text": s, "label": lab, "context": ""}) + "\n" for lab, s in SENTENCES.items()))
    res = run_cli("-m", "eval", "--model", str(tiny_model), "--data", str(data), "--out", str(tmp_path / "rep"))
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert {"macro_f1", "accuracy", "per_label", "confusion_matrix", "baselines"} <= set(report)
    assert set(report["per_label"]) == set(LABELS)
    assert set(report["baselines"]) == {"rules", "majority"}
    # the cue labeller gets these five textbook sentences right
    assert report["baselines"]["rules"]["macro_f1"] == pytest.approx(1.0)
    assert (tmp_path / "rep" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert "| fine-tuned model |" in (tmp_path / "rep" / "report.md").read_text()


def test_eval_rejects_unknown_labels(tiny_model, tmp_path):
    data = tmp_path / "gold.jsonl"
    data.write_text(json.dumps({"text": "x", "label": "neutral"}) + "\n")
    res = run_cli("-m", "eval", "--model", str(tiny_model), "--data", str(data), "--out", str(tmp_path / "rep"))
    assert res.returncode == 2
    assert "gold.jsonl:1: unknown label 'neutral'" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "rep").exists()
