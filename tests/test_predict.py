import csv
import json

from data.labels import LABELS
from data.segment import segment
from tests.conftest import ROOT, run_cli


def test_predict_jsonl_and_csv(tiny_model, tmp_path):
    examples = ROOT / "data" / "examples"
    out = tmp_path / "labels.jsonl"
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(examples), "--output", str(out),
                  "--batch-size", "4", "--chunk-size", "7", "--quiet")
    assert res.returncode == 0, res.stderr
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    expected = [(p.stem, s.index, s.text) for p in sorted(examples.glob("*.txt")) for s in segment(p.read_text())]
    assert [(r["article_id"], r["index"], r["text"]) for r in recs] == expected
    for r in recs:
        assert r["label"] in LABELS and set(r["scores"]) == set(LABELS)
        assert r["label"] == max(r["scores"], key=r["scores"].get)
    out_csv = tmp_path / "labels.csv"
    assert run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(examples), "--output",
                   str(out_csv), "--quiet").returncode == 0
    rows = list(csv.DictReader(out_csv.open()))
    assert [r["label"] for r in rows] == [r["label"] for r in recs]


def test_predict_bad_input_leaves_no_output(tiny_model, tmp_path):
    out = tmp_path / "labels.jsonl"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "text": "Fine sentence."}\nnot json\n')
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(bad), "--output", str(out), "--quiet")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].startswith("error: ") and "bad.jsonl:2" in res.stderr
    assert "Traceback" not in res.stderr
    assert list(tmp_path.glob("*labels*")) == []
    res = run_cli("scripts/predict.py", "--model", str(tmp_path / "nomodel"), "--input", str(bad), "--output", str(out))
    assert res.returncode == 2 and "not a model directory" in res.stderr
