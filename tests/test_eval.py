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


def test_compare_report_schema(tiny_model, mini_corpus, tmp_path):
    from data.build import build

    corpus, ann = mini_corpus
    build(tmp_path / "dd", corpus, seed=0, annotation_dir=ann)
    out = tmp_path / "cmp"
    res = run_cli("-m", "eval", "--compare", "--data", str(tmp_path / "dd"), "--out", str(out),
                  "--model", f"tiny={tiny_model}", "--skip", "setfit", "--bootstrap", "30", "--cv", "3",
                  "--cv-train", "--max-steps", "2", "--base-model", str(tiny_model))
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert {"majority", "rules", "tfidf_lr", "embeddings_lr", "fine-tuned:tiny",
            "fine-tuned:tiny (context removed)"} == set(report["systems"])
    for m in report["systems"].values():
        lo, hi = m["ci95"]["macro_f1"]
        assert m["ci95"]["unit"] == "article" and lo <= hi
        assert set(m["per_label"]) == set(LABELS) and set(m["by_source"]) <= {"seeds", "fnc1", "reuters"}
    assert report["primary"] == "fine-tuned:tiny" and report["macro_f1"] == report["systems"]["fine-tuned:tiny"]["macro_f1"]
    assert set(report["cv"]) == {"majority", "rules", "tfidf_lr", "embeddings_lr", "fine-tuned"}
    assert all(len(v["folds"]) == 3 and v["sd"] >= 0 for v in report["cv"].values())
    assert 0 <= report["calibration"]["tiny"]["ece"] <= 1
    assert len(report["data_sha256"]) == 64 and report["versions"]["transformers"]
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert all(e["gold"] != e["predicted"] for e in errors)
    assert [e["confidence"] for e in errors] == sorted((e["confidence"] for e in errors), reverse=True)
    for name in ("report.md", "confusion_matrix.png", "reliability.png", "label_issues.jsonl"):
        assert (out / name).exists(), name
