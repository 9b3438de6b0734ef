"""Interruptions and bad input: nothing lost, nothing half-written, one-line errors."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, run_cli, sigint_default


def _archive(path, n_articles=60):
    text = " ".join((ROOT / "data" / "examples" / f"valdoria_outlet{k}.txt").read_text().replace("\n", " ")
                    for k in (1, 2, 3))
    path.write_text("".join(json.dumps({"id": f"a{i}", "text": f"Story {i}. " + text}) + "\n" for i in range(n_articles)))


@pytest.mark.parametrize("flags", ["avx2", "avx2,avx512_vnni"])  # torch fp32; ONNX int8 (per-batch scales)
def test_sigkill_then_resume_equals_clean_run(tiny_model, tmp_path, flags):
    src = tmp_path / "in.jsonl"
    _archive(src)
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)  # auto on a VNNI CPU writes its int8 export into the model folder
    base = [sys.executable, str(ROOT / "scripts" / "predict.py"), "--model", str(model), "--input", str(src),
            "--quiet", "--chunk-size", "16"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "STANCE_CPU_FLAGS": flags}
    assert subprocess.run(base + ["--output", str(tmp_path / "clean.jsonl")], env=env).returncode == 0
    out = tmp_path / "chaos.jsonl"
    rng = random.Random(0)
    for _ in range(4):
        p = subprocess.Popen(base + ["--output", str(out), "--resume"], env=env)
        time.sleep(rng.uniform(2.0, 5.0))
        p.send_signal(signal.SIGKILL)
        p.wait()
        if out.exists():
            break
    assert subprocess.run(base + ["--output", str(out), "--resume"], env=env).returncode == 0
    assert out.read_bytes() == (tmp_path / "clean.jsonl").read_bytes()
    assert not list(tmp_path.glob(".chaos*"))


def test_ctrl_c_keeps_work_and_says_how_to_resume(tiny_model, tmp_path):
    src = tmp_path / "in.jsonl"
    _archive(src, 2000)
    out = tmp_path / "o.jsonl"
    p = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "predict.py"), "--model", str(tiny_model), "--input",
                          str(src), "--output", str(out), "--quiet", "--chunk-size", "16"],
                         stderr=subprocess.PIPE, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                         preexec_fn=sigint_default)
    deadline = time.time() + 120
    while not (tmp_path / ".o.jsonl.progress").exists() and time.time() < deadline:  # first chunk is on disk
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "--resume" in err and "Traceback" not in err
    assert not out.exists() and (tmp_path / ".o.jsonl.part").exists()


@pytest.mark.parametrize("content,message", [
    (b"", "no readable articles"),
    (b"\x00\x01binary\x00", "NUL bytes"),
    (b'{"id": "1", "text": "caf\xe9 au lait."}\n', "not UTF-8"),
])
def test_bad_jsonl_inputs_fail_cleanly(tiny_model, tmp_path, content, message):
    src = tmp_path / "in.jsonl"
    src.write_bytes(content)
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(src), "--output",
                  str(tmp_path / "o.jsonl"), "--quiet")
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    assert not list(tmp_path.glob("*o.jsonl*"))


def test_cp1252_text_is_decoded_with_a_warning(tiny_model, tmp_path):
    (tmp_path / "a.txt").write_bytes("The caf\xe9 owner said it was closed.".encode("cp1252"))
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(tmp_path / "a.txt"), "--output",
                  str(tmp_path / "o.jsonl"), "--quiet")
    assert res.returncode == 0 and "decoded as cp1252" in res.stderr
    assert "café" in (tmp_path / "o.jsonl").read_text(encoding="utf-8")


def test_unwritable_output_and_missing_inputs(tiny_model, tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("One sentence.")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(src), "--output",
                      str(locked / "o.jsonl"))
        if os.geteuid() != 0:  # root ignores permission bits
            assert res.returncode == 2 and "error:" in res.stderr and "Traceback" not in res.stderr
    finally:
        locked.chmod(0o700)
    for args in (("-m", "data", "build", "--out", str(tmp_path / "d"), "--corpus-dir", str(tmp_path / "nope")),
                 ("-m", "train", "--data", str(tmp_path / "nope"), "--output-dir", str(tmp_path / "m")),
                 ("-m", "eval", "--model", str(tiny_model), "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r"))):
        res = run_cli(*args)
        assert res.returncode == 2, args
        assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("error: "), res.stderr


def test_long_single_line_and_huge_sentence(tiny_model, tmp_path):
    from data.segment import segment

    line = "The agency said 40 homes flooded. Residents said more were hit! " * 800   # ~52k chars, one line
    sents = segment(line)
    assert len(sents) == 1600 and all(line[s.start:s.end] == s.text for s in sents)
    (tmp_path / "long.txt").write_text(line + "\n" + "word " * 1800 + ".")  # one unit of ~1,800 tokens
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(tmp_path / "long.txt"), "--output",
                  str(tmp_path / "o.jsonl"), "--quiet")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "1601 sentences labelled" in res.stdout and "1 truncated to 128 tokens" in res.stdout


def test_html_pages_are_extracted(tiny_model, tmp_path):
    pytest.importorskip("trafilatura")
    page = tmp_path / "page.html"
    body = " ".join(f"<p>The council said the bridge would reopen in week {k}. Engineers had inspected it twice.</p>"
                    for k in range(6))
    page.write_text(f"<html><head><title>T</title><script>var x = 1;</script></head><body><nav>Home | News</nav>"
                    f"<article><h1>Bridge to reopen</h1>{body}</article><footer>Contact us</footer></body></html>")
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(page), "--output",
                  str(tmp_path / "o.jsonl"), "--quiet")
    assert res.returncode == 0, res.stderr[-2000:]
    texts = [json.loads(line)["text"] for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert "The council said the bridge would reopen in week 0." in texts
    assert not any("var x" in t for t in texts)
    (tmp_path / "empty.html").write_text("<html><body><script>1</script></body></html>")
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(tmp_path / "empty.html"),
                  "--output", str(tmp_path / "e.jsonl"), "--quiet")
    assert res.returncode == 2 and "no article text" in res.stderr


def test_hostile_article_ids_stay_data(tiny_model, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "../../etc/passwd", "text": "One sentence here."}) + "\n")
    out_dir = tmp_path / "out"
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(src), "--output",
                  str(out_dir / "o.jsonl"), "--html", str(out_dir / "o.html"), "--quiet")
    assert res.returncode == 0, res.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["in.jsonl", "o.html", "o.jsonl"]
    assert json.loads((out_dir / "o.jsonl").read_text())["article_id"] == "../../etc/passwd"


def test_training_killed_then_resumed_matches_uninterrupted(tiny_model, mini_corpus, tmp_path):
    from data.build import build

    corpus, ann = mini_corpus
    build(tmp_path / "dd", corpus, seed=0, annotation_dir=ann)
    cfg = tmp_path / "steps.yaml"
    cfg.write_text("model: {use_context: true, max_length: 64, class_weighting: sqrt_inverse}\n"
                   "training: {max_steps: 40, learning_rate: 1.0e-3, per_device_train_batch_size: 16, eval_strategy: steps,"
                   " eval_steps: 4, save_strategy: steps, save_steps: 4, load_best_model_at_end: true,"
                   " metric_for_best_model: macro_f1, report_to: none, seed: 7, logging_steps: 4}\n")
    base = [sys.executable, "-m", "train", "--data", str(tmp_path / "dd"), "--config", str(cfg),
            "--base-model", str(tiny_model), "--device", "cpu"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    assert subprocess.run(base + ["--output-dir", str(tmp_path / "clean")], cwd=ROOT, env=env,
                          capture_output=True).returncode == 0
    out = tmp_path / "killed"
    p = subprocess.Popen(base + ["--output-dir", str(out)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list((out / "checkpoints").glob("checkpoint-8")) and p.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert p.poll() is None, "training finished before it could be killed"
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert not (out / "config.json").exists(), "killed run must not look like a finished model"
    res = subprocess.run(base + ["--output-dir", str(out), "--resume"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    clean = json.loads((tmp_path / "clean" / "metrics.json").read_text())
    resumed = json.loads((out / "metrics.json").read_text())
    for split in ("validation", "test"):
        assert resumed[split][f"{split}_macro_f1"] == pytest.approx(clean[split][f"{split}_macro_f1"], abs=0.05)
        assert resumed[split][f"{split}_loss"] == pytest.approx(clean[split][f"{split}_loss"], rel=0.1)


def test_disk_full_is_one_line_and_leaves_nothing(tiny_model, tmp_path, monkeypatch, capsys):
    import errno

    from model import predict

    def full(self, rec):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.tmp))

    monkeypatch.setattr(predict.Writer, "write", full)
    with pytest.raises(SystemExit) as exc:
        predict.main(["--model", str(tiny_model), "--input", str(ROOT / "data" / "examples"),
                      "--output", str(tmp_path / "o.jsonl"), "--quiet"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "No space left on device" in err[-1]
    assert list(tmp_path.iterdir()) == []


def test_cuda_request_on_cpu_machine_cli(tiny_model, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("machine has CUDA")
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(ROOT / "data" / "examples"),
                  "--output", str(tmp_path / "o.jsonl"), "--device", "cuda")
    assert res.returncode == 2 and "no CUDA device" in res.stderr and "Traceback" not in res.stderr


def test_dataset_with_another_label_set_is_refused(tiny_model, tmp_path):
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    features = Features({"id": Value("string"), "article_id": Value("string"), "source": Value("string"),
                         "text": Value("string"), "context": Value("string"),
                         "label": ClassLabel(names=["positive", "negative"])})
    rows = {"id": ["1"], "article_id": ["a"], "source": ["x"], "text": ["Hi."], "context": [""], "label": [0]}
    DatasetDict({s: Dataset.from_dict(rows, features=features) for s in ("train", "validation", "test")}).save_to_disk(
        str(tmp_path / "dd"))
    for args in (("-m", "train", "--data", str(tmp_path / "dd"), "--output-dir", str(tmp_path / "m")),
                 ("-m", "eval", "--model", str(tiny_model), "--data", str(tmp_path / "dd"), "--out", str(tmp_path / "r"))):
        res = run_cli(*args)
        assert res.returncode == 2 and "differs from the schema" in res.stderr, res.stderr


def test_resume_skips_a_half_written_checkpoint(tmp_path):
    from train.trainer import last_complete_checkpoint

    ckpts = tmp_path / "checkpoints"
    for step, state in ((4, '{"global_step": 4}'), (8, '{"global_step": 8}'), (12, '{"global_st')):
        (ckpts / f"checkpoint-{step}").mkdir(parents=True)
        (ckpts / f"checkpoint-{step}" / "trainer_state.json").write_text(state)
    (ckpts / "checkpoint-16").mkdir()  # killed before any state was written
    assert last_complete_checkpoint(ckpts) == ckpts / "checkpoint-8"
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-4", "checkpoint-8"]
    assert last_complete_checkpoint(tmp_path / "none") is None


@pytest.mark.parametrize("flags,message", [
    (["--batch-size", "0"], "must be at least 1"),
    (["--chunk-size", "-5"], "must be at least 1"),
    (["--dtype", "fp16", "--device", "cpu"], "fp16 needs --device cuda"),
])
def test_bad_inference_settings_are_one_line_errors(tiny_model, tmp_path, flags, message):
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(ROOT / "data" / "examples"),
                  "--output", str(tmp_path / "o.jsonl"), *flags)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    assert not list(tmp_path.iterdir())
