"""Scaling out on existing engines: two-process training (accelerate, gloo) and the Ray Data engine.

Both need the [scale] extra, which scripts/test.sh (and so CI) installs.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.scale


def _build(mini_corpus, tmp_path):
    from data.build import build

    corpus, ann = mini_corpus
    build(tmp_path / "dd", corpus, seed=0, annotation_dir=ann)
    return tmp_path / "dd"


def test_two_process_cpu_training_saves_the_same_model_folder(tiny_model, mini_corpus, tmp_path):
    pytest.importorskip("accelerate")
    from transformers import pipeline

    data = _build(mini_corpus, tmp_path)
    args = ["-m", "train", "--data", str(data), "--base-model", str(tiny_model), "--max-steps", "4", "--device", "cpu"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
              str(ROOT / "train" / "configs" / "accelerate" / "cpu.yaml"), "--num_processes", "2"]
    res = subprocess.run(launch + args + ["--output-dir", str(tmp_path / "two")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, "\n".join(l for l in res.stderr.splitlines() if "rank1" in l)[-3000:] or res.stderr[-3000:]
    one = subprocess.run([sys.executable] + args + ["--output-dir", str(tmp_path / "one")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]

    two_metrics = json.loads((tmp_path / "two" / "metrics.json").read_text())
    one_metrics = json.loads((tmp_path / "one" / "metrics.json").read_text())
    assert two_metrics["processes"] == 2 and one_metrics["processes"] == 1
    # the loss is a per-batch mean in both: not scaled by the process count
    assert two_metrics["validation"]["validation_loss"] == pytest.approx(one_metrics["validation"]["validation_loss"], rel=0.2)
    files = lambda d: sorted(p.name for p in d.iterdir())  # noqa: E731
    assert files(tmp_path / "two") == files(tmp_path / "one")
    assert not (tmp_path / "two" / "checkpoints").exists()
    out = pipeline("text-classification", model=str(tmp_path / "two"))(["The ministry said 12 schools closed."])
    assert out[0]["label"] in {"asserted", "disputed", "unverified", "official_figure", "unattributed"}


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_ray_engine_output_equals_local_engine(tiny_model, tmp_path):
    pytest.importorskip("ray")
    examples = [(ROOT / "data" / "examples" / f"valdoria_outlet{k}.txt").read_text() for k in (1, 2, 3)]
    # many small articles (more than one Ray block each), with repeated wire copy and an empty one
    arts = [{"id": f"a{i}", "text": examples[i % 3] if i % 4 else examples[0][:400]} for i in range(40)]
    arts.insert(7, {"id": "empty", "text": "   "})
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(a) + "\n" for a in arts))
    base = [sys.executable, str(ROOT / "scripts" / "predict.py"), "--model", str(tiny_model), "--input", str(src), "--quiet"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    local = subprocess.run(base + ["--output", str(tmp_path / "local.jsonl")], env=env, capture_output=True, text=True)
    assert local.returncode == 0, local.stderr[-2000:]
    ray = subprocess.run(base + ["--output", str(tmp_path / "ray.jsonl"), "--engine", "ray", "--num-workers", "2"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert ray.returncode == 0, ray.stderr[-3000:]
    a, b = _records(tmp_path / "local.jsonl"), _records(tmp_path / "ray.jsonl")
    assert len(a) == len(b) > 100
    for x, y in zip(a, b):
        assert {k: v for k, v in x.items() if k not in ("score", "scores")} == \
               {k: v for k, v in y.items() if k not in ("score", "scores")}
        assert y["scores"] == pytest.approx(x["scores"], abs=1e-5)


def test_ray_engine_errors_are_one_line(tiny_model, tmp_path, monkeypatch):
    from data.readers import DataError
    from model import ray_engine

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(DataError, match=r'pip install -e "\.\[scale\]"'):
        ray_engine.start(type("Args", (), {"address": None})())
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "predict.py"), "--model", str(tiny_model), "--input",
                          str(ROOT / "data" / "examples"), "--output", str(tmp_path / "o.jsonl"), "--num-workers", "2"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "need --engine ray" in res.stderr
