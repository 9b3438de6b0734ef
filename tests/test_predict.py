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


def _labels(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_dedup_and_chunking_do_not_change_output(tiny_model, tmp_path):
    text = (ROOT / "data" / "examples" / "valdoria_outlet1.txt").read_text()
    arts = tmp_path / "arts.jsonl"
    # the same wire copy under three ids, plus a different article between them
    other = (ROOT / "data" / "examples" / "valdoria_outlet2.txt").read_text()
    arts.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in
                            (("w1", text), ("x", other), ("w2", text), ("w3", text))))
    fast, slow = tmp_path / "fast.jsonl", tmp_path / "slow.jsonl"
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(arts), "--output", str(fast), "--quiet")
    assert res.returncode == 0 and "duplicates reused" in res.stdout
    reused = int(res.stdout.split("(")[1].split()[0])
    assert reused == 2 * len(segment(text))
    # reference: one sentence per chunk and per batch, so nothing is shared or reordered
    assert run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(arts), "--output", str(slow),
                   "--quiet", "--chunk-size", "1", "--batch-size", "1").returncode == 0
    a, b = _labels(fast), _labels(slow)
    assert [(r["article_id"], r["index"], r["label"]) for r in a] == [(r["article_id"], r["index"], r["label"]) for r in b]
    for x, y in zip(a, b):
        assert max(abs(x["scores"][k] - y["scores"][k]) for k in LABELS) < 1e-4
    w1 = [r for r in a if r["article_id"] == "w1"]
    w3 = [r for r in a if r["article_id"] == "w3"]
    assert [r["scores"] for r in w1] == [r["scores"] for r in w3]


def test_onnx_backend_agrees_with_torch(tiny_model, tmp_path):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    res = run_cli("scripts/export_onnx.py", "--model", str(model), "--quantize", "int8")
    assert res.returncode == 0, res.stderr[-2000:]
    outs = {}
    for name, extra in (("torch", ["--backend", "torch"]), ("onnx", ["--backend", "onnx"]), ("int8", ["--backend", "onnx", "--quantize", "int8"])):
        outs[name] = tmp_path / f"{name}.jsonl"
        r = run_cli("scripts/predict.py", "--model", str(model), "--input", str(ROOT / "data" / "examples"),
                    "--output", str(outs[name]), "--quiet", *extra)
        assert r.returncode == 0, r.stderr[-2000:]
    t, o, q = (_labels(outs[k]) for k in ("torch", "onnx", "int8"))
    assert [r["label"] for r in t] == [r["label"] for r in o]
    assert max(abs(x["scores"][k] - y["scores"][k]) for x, y in zip(t, o) for k in LABELS) < 1e-4
    assert len(q) == len(t) and all(r["label"] in LABELS for r in q)
    import onnx

    int8 = [n.name for n in onnx.load(str(model / "onnx" / "model.int8.onnx")).graph.node if n.op_type == "MatMulInteger"]
    # every encoder matrix product is int8 (2 layers x q, k, v, attention output, FFN in, FFN out);
    # the pooler/classifier head stays fp32
    assert len(int8) == 12 and all("/encoder/" in n for n in int8)
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(ROOT / "data" / "examples"),
                  "--output", str(tmp_path / "x.jsonl"), "--backend", "onnx")
    assert res.returncode == 2 and "not exported yet" in res.stderr
    res = run_cli("scripts/predict.py", "--model", str(model), "--input", str(ROOT / "data" / "examples"),
                  "--output", str(tmp_path / "y.jsonl"), "--backend", "onnx", "--dtype", "bf16")
    assert res.returncode == 2 and "--dtype is for --backend torch" in res.stderr
    assert not (tmp_path / "y.jsonl").exists()


def test_stale_onnx_export_is_refused(tiny_model, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    assert run_cli("scripts/export_onnx.py", "--model", str(model)).returncode == 0
    weights = load_file(model / "model.safetensors")
    save_file({k: v * 1.01 for k, v in weights.items()}, model / "model.safetensors", metadata={"format": "pt"})
    res = run_cli("scripts/predict.py", "--model", str(model), "--input", str(ROOT / "data" / "examples"),
                  "--output", str(tmp_path / "o.jsonl"), "--backend", "onnx")
    assert res.returncode == 2 and "exported from other weights" in res.stderr


def test_the_span_model_runs_on_onnx_beside_the_classifier(tiny_span_model, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    model = tmp_path / "model"
    shutil.copytree(tiny_span_model, model)
    res = run_cli("scripts/export_onnx.py", "--model", str(model), "--quantize", "int8")
    assert res.returncode == 0, res.stderr[-2000:]
    assert (model / "spans" / "onnx" / "model.int8.onnx").is_file()
    outs = {}
    for name, extra in (("torch", ["--backend", "torch", "--dtype", "fp32"]), ("onnx", ["--backend", "onnx"]),
                        ("int8", ["--backend", "onnx", "--quantize", "int8"])):
        outs[name] = _labels(tmp_path / f"{name}.jsonl") if run_cli(
            "scripts/predict.py", "--model", str(model), "--input", str(ROOT / "data" / "examples"),
            "--output", str(tmp_path / f"{name}.jsonl"), "--quiet", *extra).returncode == 0 else None
    spans = {name: [(r["source"], r["cue"], r["figure"]) for r in recs] for name, recs in outs.items()}
    assert spans["torch"] == spans["onnx"]  # the same graph, exported: the same spans
    assert any(any(s) for s in spans["torch"])  # the tiny model's peaked random tags do mark some
    texts = {p.stem: p.read_text() for p in (ROOT / "data" / "examples").glob("*.txt")}
    for rec in outs["int8"]:  # int8 spans still index the article exactly
        for kind in ("source", "cue", "figure"):
            if rec[kind]:
                assert texts[str(rec["article_id"])][rec[kind]["start"]:rec[kind]["end"]] == rec[kind]["text"]
    weights = load_file(model / "spans" / "model.safetensors")  # a retrained span model: its graph is stale
    save_file({k: v * 1.01 for k, v in weights.items()}, model / "spans" / "model.safetensors", metadata={"format": "pt"})
    res = run_cli("scripts/predict.py", "--model", str(model), "--input", str(ROOT / "data" / "examples"),
                  "--output", str(tmp_path / "o.jsonl"), "--backend", "onnx")
    assert res.returncode == 2 and "exported from other weights" in res.stderr and "Traceback" not in res.stderr
