"""A newcomer's first hour: safe resume, HTML at scale, installed commands, HF flags, honest errors,
skipped inputs, readable files, long text in the pipeline."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data.labels import LABELS
from tests.conftest import ROOT, run_cli, sigint_default

EXAMPLES = ROOT / "data" / "examples"
BIN = Path(sys.executable).parent


def _articles(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for p in sorted(EXAMPLES.glob("*.txt"))[:n]:
        shutil.copy(p, folder / p.name)
    return folder


def _interrupted_run(tiny_model, inputs: Path, out: Path, monkeypatch):
    """A real partial run: the engine is stopped by Ctrl-C after its first chunk."""
    from model import predict

    calls = {"n": 0}
    real = predict.DedupCache.__call__

    def stop_after_first(self, texts, contexts):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return real(self, texts, contexts)

    monkeypatch.setattr(predict.DedupCache, "__call__", stop_after_first)
    with pytest.raises(SystemExit) as exc:
        predict.main(["--model", str(tiny_model), "--input", str(inputs), "--output", str(out), "--quiet",
                      "--chunk-size", "5"])
    monkeypatch.setattr(predict.DedupCache, "__call__", real)
    assert exc.value.code == 130
    assert (out.parent / f".{out.name}.part").exists() and not out.exists()


def _predict(tiny_model, inputs, out, *extra):
    return run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", *map(str, inputs), "--output", str(out),
                   "--quiet", "--chunk-size", "5", *extra)


def test_resume_refuses_a_changed_run_and_never_drops_a_partial_one(tiny_model, tmp_path, monkeypatch):
    arts = _articles(tmp_path / "arts", 2)
    out = tmp_path / "labels.jsonl"
    _interrupted_run(tiny_model, arts, out, monkeypatch)

    # a file added to the folder: refused, nothing written, the partial run kept
    shutil.copy(sorted(EXAMPLES.glob("*.txt"))[2], arts / "added.txt")
    res = _predict(tiny_model, [arts], out, "--resume")
    assert res.returncode == 2 and "cannot resume" in res.stderr and "added.txt" in res.stderr, res.stderr
    assert not out.exists() and (tmp_path / ".labels.jsonl.part").exists()
    (arts / "added.txt").unlink()
    # a different input altogether: refused too
    other = _articles(tmp_path / "other", 1)
    res = _predict(tiny_model, [other], out, "--resume")
    assert res.returncode == 2 and "cannot resume" in res.stderr
    # other label-changing options: refused
    from model.paths import choose, cpu_flags, has_onnxruntime

    auto = choose("cpu", cpu_flags(), has_onnxruntime())  # what the interrupted run used on this machine
    other = "fp32" if auto.dtype == "bf16" else "bf16"
    res = _predict(tiny_model, [arts], out, "--resume", "--dtype", other, "--device", "cpu")
    assert res.returncode == 2 and "--dtype" in res.stderr
    # no --resume: the partial run is kept and the choice is spelled out
    res = _predict(tiny_model, [arts], out)
    assert res.returncode == 2 and "--resume" in res.stderr and "--overwrite" in res.stderr
    assert (tmp_path / ".labels.jsonl.part").exists()
    # the same run resumes, and gives what an uninterrupted run gives
    res = _predict(tiny_model, [arts], out, "--resume")
    assert res.returncode == 0 and "resuming after 5 sentences" in res.stderr, res.stderr
    clean = tmp_path / "clean.jsonl"
    assert _predict(tiny_model, [arts], clean).returncode == 0
    assert out.read_text() == clean.read_text()
    keys = [(r["article_id"], r["index"]) for r in map(json.loads, out.read_text().splitlines())]
    assert len(keys) == len(set(keys))


def test_resume_refuses_a_retrained_span_model(tiny_span_model, tmp_path, monkeypatch):
    model = tmp_path / "model"
    shutil.copytree(tiny_span_model, model)
    arts = _articles(tmp_path / "arts", 2)
    out = tmp_path / "labels.jsonl"
    _interrupted_run(model, arts, out, monkeypatch)
    weights = model / "spans" / "model.safetensors"
    weights.write_bytes(weights.read_bytes() + b" ")  # any change to the span weights, as a retrain makes
    res = _predict(model, [arts], out, "--resume")
    assert res.returncode == 2 and "span model" in res.stderr, res.stderr
    assert not out.exists() and (tmp_path / ".labels.jsonl.part").exists()


def test_overwrite_discards_a_partial_run_saying_so(tiny_model, tmp_path, monkeypatch):
    arts = _articles(tmp_path / "arts", 1)
    out = tmp_path / "labels.jsonl"
    _interrupted_run(tiny_model, arts, out, monkeypatch)
    res = _predict(tiny_model, [arts], out, "--overwrite")
    assert res.returncode == 0 and "discarding the interrupted run's 5 sentences" in res.stderr
    assert not (tmp_path / ".labels.jsonl.part").exists()


def test_resume_mismatch_names_each_difference():
    from model.predict import resume_mismatch

    run = {"inputs": [["/a.txt", 10, 1]], "model": "m", "options": {"dtype": "auto", "backend": "torch"}}
    assert resume_mismatch(run, run) is None
    assert "older version" in resume_mismatch(None, run)
    assert "weights" in resume_mismatch(dict(run, model="other"), run)
    assert "span model" in resume_mismatch(dict(run, spans="s1"), dict(run, spans="s2"))
    assert "changed" in resume_mismatch(dict(run, inputs=[["/a.txt", 11, 1]]), run)
    assert "missing" in resume_mismatch(dict(run, inputs=[["/a.txt", 10, 1], ["/b.txt", 1, 1]]), run)
    assert "--dtype 'bf16' -> 'auto'" in resume_mismatch(dict(run, options={"dtype": "bf16", "backend": "torch"}), run)


def _many_articles(n: int) -> dict[str, list[dict]]:
    """n articles: shared wire sentences (the same claim in every outlet) plus each one's own."""
    arts = {}
    for k in range(n):
        recs = [{"index": 0, "paragraph": 0, "text": f"HEADLINE NUMBER {k} ABOUT THE DAM", "label": "unattributed",
                 "score": 0.9, "scores": {lab: 0.2 for lab in LABELS} | {"unattributed": 0.9}}]
        texts = [("The governor said the dam had failed overnight.", "asserted"),
                 (f"Officials in town {k} said {k} homes were flooded.", "official_figure" if k % 3 else "asserted"),
                 ("The operator denied that the dam had failed.", "disputed" if k % 2 else "unverified")]
        for i, (t, lab) in enumerate(texts, 1):
            recs.append({"index": i, "paragraph": 1 + i // 3, "text": t, "label": lab, "score": 0.4 if i == 3 else 0.95,
                         "scores": {x: 0.1 for x in LABELS} | {lab: 0.4 if i == 3 else 0.95}})
        arts[f"outlet-{k:04d}"] = recs
    return arts


def _embed_counting(calls):
    import numpy as np

    def embed(texts):
        calls.extend(texts)
        # the dam-failure claim along one axis; each town's own figure in a random direction of other axes
        rows = []
        for t in texts:
            v = np.zeros(32, dtype="float32")
            if "dam had failed" in t:
                v[0] = 1
            else:
                v[1:] = np.random.default_rng(abs(hash(t)) % 2**32).normal(0, 1, 31)
            rows.append(v)
        return np.array(rows)
    return embed


def test_html_at_1000_articles_groups_by_neighbours_and_stays_usable():
    from eval.html_report import render, same_claim_groups

    arts = _many_articles(1000)
    calls = []
    started = time.time()
    groups = same_claim_groups(arts, 0.9, _embed_counting(calls))
    page = render(arts, 0.9, _embed_counting([]))
    elapsed = time.time() - started
    # each distinct sentence is embedded once, however many outlets repeat it
    assert len(calls) == len(set(calls)) == 2 + 1000
    # the wire claim: one group; it lists only articles that share it, not a column per article
    top = groups[0]
    assert len({r["article_id"] for r in top}) == 1000 and {r["label"] for r in top} == {"asserted", "disputed", "unverified"}
    assert "<th>outlet-" not in page and page.count('<details class="claim">') == len(groups)
    assert "and 960 more article(s)" in page
    # 1,000 articles: an index, collapsed articles, a page of a few MB at most
    assert page.count('<details class="art"') == 1000 and '<details class="art" id="a0" open' not in page
    assert page.count('<a href="#a') >= 1000 and len(page) < 6_000_000
    assert elapsed < 60, f"rendering 1,000 articles took {elapsed:.0f}s"


def test_reader_view_titles_paragraphs_confidence_and_scores_without_a_mouse():
    from eval.html_report import article_title, render

    arts = _many_articles(3)
    page = render(arts, 0.9, _embed_counting([]), low_conf=0.6)
    assert article_title("outlet-0000", arts["outlet-0000"]) == "HEADLINE NUMBER 0 ABOUT THE DAM"
    assert article_title("94a17c2fc272afce", [{"text": "Short opening.", "paragraph": 0}]) == "Short opening."
    assert article_title("valdoria_outlet1", [{"text": "x", "paragraph": 0}]) == "valdoria outlet1"
    body = page.split('id="articles"')[1]
    assert body.count("<p") == 3 * 3 and body.count("<p class=hl>") == 3  # headline + two paragraphs each
    assert body.count('class="s"') + body.count('class="s low"') == 12  # every sentence its own box
    assert body.count('class="s low"') == 3 and "below 0.60" in page  # low confidence marked, threshold in legend
    assert 'id="show-scores"' in page and "#show-scores:checked~main .s .sc{display:inline}" in page
    assert 'tabindex="0"' in body and ".s:focus .tip{display:block}" in page


def test_html_stage_ctrl_c_exits_130_and_keeps_the_labels(tmp_path):
    preds = tmp_path / "p.jsonl"
    with open(preds, "w") as f:
        for k in range(4000):  # distinct sentences, so the embedding step takes a while
            f.write(json.dumps({"article_id": f"a{k % 40}", "index": k, "text": f"Minister {k} said {k} schools shut.",
                                "label": "asserted", "score": 0.9, "scores": {lab: 0.2 for lab in LABELS}}) + "\n")
    p = subprocess.Popen([sys.executable, "scripts/report_html.py", "--predictions", str(preds), "--output",
                          str(tmp_path / "r.html")], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"}, preexec_fn=sigint_default)
    seen = ""
    deadline = time.time() + 120
    while "embedding" not in seen and time.time() < deadline:
        seen += p.stderr.read(1)
    time.sleep(1)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=60) == 130
    assert "interrupted" in p.stderr.read() and not (tmp_path / "r.html").exists()
    assert [x.name for x in tmp_path.iterdir()] == ["p.jsonl"]


def test_installed_commands_work_from_a_folder_with_its_own_model_py(tiny_model, tmp_path):
    for name in ("stance-build", "stance-train", "stance-eval", "stance-predict", "stance-html"):
        assert (BIN / name).exists(), f"{name} is not installed (pip install -e .)"
    work = tmp_path / "project"
    work.mkdir()
    for clash in ("model.py", "data.py", "train.py", "eval.py"):
        (work / clash).write_text("raise SystemExit('the wrong module was imported')\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    res = subprocess.run([str(BIN / "stance-predict"), "--model", str(tiny_model), "--input", str(EXAMPLES),
                          "--output", "out.jsonl", "--html", "out.html", "--quiet"], cwd=work, env=env,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (work / "out.jsonl").exists() and (work / "out.html").exists()
    res = subprocess.run([str(BIN / "stance-build"), "--output-dir", "dd", "--authored-only"], cwd=work, env=env,
                         capture_output=True, text=True)
    assert res.returncode == 0 and (work / "dd" / "dataset_dict.json").exists(), res.stderr[-2000:]
    for name in ("stance-train", "stance-eval", "stance-html"):
        assert subprocess.run([str(BIN / name), "--help"], cwd=work, capture_output=True).returncode == 0


def test_every_option_has_help_and_hf_spellings_are_accepted():
    from data.cli import ArgumentParser

    ap = ArgumentParser()
    ap.add_argument("--output-dir", help="x")
    assert ap.parse_args(["--output_dir", "d"]).output_dir == "d"
    with pytest.raises(TypeError):
        ArgumentParser().add_argument("--no-help")
    for script in ("data", "train", "eval"):
        res = run_cli("-m", script, *(["build"] if script == "data" else []), "--help")
        assert res.returncode == 0, res.stderr
    res = run_cli("-m", "train", "--help")
    for flag in ("--output_dir", "--num_train_epochs", "--per_device_train_batch_size", "--model_name_or_path",
                 "--resume_from_checkpoint", "--learning_rate"):
        assert flag in res.stdout, flag


def test_training_with_hf_flags_writes_readable_files_and_a_model_card(tiny_model, mini_corpus, tmp_path):
    import yaml
    from transformers import pipeline

    from data.build import build

    old = os.umask(0o022)
    try:
        corpus, ann = mini_corpus
        build(tmp_path / "dd", corpus, seed=0, annotation_dir=ann)
        res = run_cli("-m", "train", "--data", str(tmp_path / "dd"), "--output_dir", str(tmp_path / "m"),
                      "--model_name_or_path", str(tiny_model), "--num_train_epochs", "1", "--max_steps", "2",
                      "--per_device_train_batch_size", "8", "--learning_rate", "1e-3", "--device", "cpu")
        assert res.returncode == 0, res.stderr[-2000:]
        model = tmp_path / "m"
        args = json.loads((model / "training_args.json").read_text())
        assert args["per_device_train_batch_size"] == 8 and args["learning_rate"] == 1e-3
        for p in [tmp_path / "dd", *(tmp_path / "dd").rglob("*"), model, *model.rglob("*")]:
            mode = stat.S_IMODE(p.stat().st_mode)
            assert mode == (0o755 if p.is_dir() else 0o644), f"{p}: {oct(mode)}"
        # the model card: HF front matter with the real scores, and how to call it on long text
        card = (model / "README.md").read_text()
        front = yaml.safe_load(card.split("---")[1])
        assert front["pipeline_tag"] == "text-classification" and front["language"] == ["en"]
        assert {"license", "tags", "datasets", "metrics", "base_model"} <= set(front)
        metrics = front["model-index"][0]["results"][0]["metrics"]
        assert metrics[0]["name"] == "macro-F1" and 0 <= metrics[0]["value"] <= 1
        assert "truncation=True" in card and "## Intended use and limits" in card
        clf = pipeline("text-classification", model=str(model))
        long_text = " ".join(["The ministry said 41 people had been treated in hospital."] * 200)
        assert clf(long_text, truncation=True)[0]["label"] in LABELS
    finally:
        os.umask(old)


def test_predictions_and_reports_are_written_with_the_umask(tiny_model, tmp_path):
    old = os.umask(0o022)
    try:
        res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(EXAMPLES), "--output",
                      str(tmp_path / "o.jsonl"), "--html", str(tmp_path / "o.html"), "--quiet")
        assert res.returncode == 0, res.stderr[-2000:]
        gold = tmp_path / "gold.jsonl"
        gold.write_text(json.dumps({"text": "The mayor denied it.", "label": "disputed"}) + "\n")
        assert run_cli("-m", "eval", "--model", str(tiny_model), "--data", str(gold), "--output-dir",
                       str(tmp_path / "r")).returncode == 0
        for p in [tmp_path / "o.jsonl", tmp_path / "o.html", *(tmp_path / "r").iterdir()]:
            assert stat.S_IMODE(p.stat().st_mode) == 0o644, p
    finally:
        os.umask(old)


def test_errors_a_newcomer_met_are_plain(tiny_model, tmp_path):
    news = tmp_path / "news.csv"
    news.write_text("Body ID,articleBody\n1,Some text.\n")
    res = run_cli("-m", "eval", "--model", str(tiny_model), "--data", str(news), "--output-dir", str(tmp_path / "r"))
    assert res.returncode == 2 and "stance-predict" in res.stderr and "Expecting value" not in res.stderr
    other = tmp_path / "gold.jsonl"
    other.write_text(json.dumps({"sentence": "x", "gold": "asserted"}) + "\n")
    res = run_cli("-m", "eval", "--model", str(tiny_model), "--data", str(other), "--output-dir", str(tmp_path / "r"))
    assert res.returncode == 2 and "lacks 'text' and 'label'" in res.stderr and "'sentence'" in res.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(empty), "--output", str(tmp_path / "o.jsonl"))
    assert res.returncode == 2 and "empty CSV" in res.stderr and "None" not in res.stderr
    cols = tmp_path / "cols.csv"
    cols.write_text("id,body\n1,Text.\n")
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(cols), "--output", str(tmp_path / "o.jsonl"))
    assert res.returncode == 2 and "--id-column" in res.stderr and "--text-column" in res.stderr
    assert not (tmp_path / "o.jsonl").exists() and not (tmp_path / "r").exists()


def test_inputs_checked_first_skipped_files_named_and_extensions_in_any_case(tiny_model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLES / "valdoria_outlet1.txt", folder / "SHOUT.TXT")
    for junk in ("scan.pdf", "photo.png", "notes.md"):
        (folder / junk).write_bytes(b"x")
    (folder / ".DS_Store").write_bytes(b"x")
    res = run_cli("scripts/predict.py", "--model", str(tiny_model), "--input", str(folder), "--output",
                  str(tmp_path / "o.jsonl"), "--quiet")
    assert res.returncode == 0, res.stderr
    assert "skipped 3 item(s)" in res.stderr and all(n in res.stderr for n in ("scan.pdf", "photo.png", "notes.md"))
    assert {json.loads(line)["article_id"] for line in (tmp_path / "o.jsonl").read_text().splitlines()} == {"SHOUT"}
    # a bad input is reported before the model loads (here there is no model at all)
    res = run_cli("scripts/predict.py", "--model", str(tmp_path / "nomodel"), "--input", str(tmp_path / "missing.txt"),
                  "--output", str(tmp_path / "x.jsonl"))
    assert res.returncode == 2 and "missing.txt: no such file" in res.stderr
    # training on a bad --data leaves no output folder behind
    res = run_cli("-m", "train", "--data", str(tmp_path / "nodata"), "--output-dir", str(tmp_path / "m"))
    assert res.returncode == 2 and not (tmp_path / "m").exists()


def test_hnsw_neighbour_search_finds_same_claim_pairs_at_scale():
    import numpy as np

    from eval.html_report import EXACT_BELOW, _neighbour_pairs

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(EXACT_BELOW + 100, 32)).astype("float32")
    planted = [(i, EXACT_BELOW + i) for i in range(50)]
    for i, j in planted:  # 50 near-copies: the same claim, reworded
        emb[j] = emb[i] + rng.normal(scale=0.05, size=32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    pairs = set(_neighbour_pairs(emb, 0.9))
    assert set(planted) <= pairs
    assert len(pairs) < 2 * len(planted)  # random 32-d directions are not the same claim
