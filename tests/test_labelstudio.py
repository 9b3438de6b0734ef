"""The Label Studio round trip: export tasks, active-learning selection, import of exports.

The fast tests need no server. The round trip starts a real Label Studio on localhost
(`pytest -m labelstudio`; skipped where label-studio is not installed: extra [labelstudio],
or LABEL_STUDIO_PYTHON naming a Python that has it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import types
import urllib.request
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from data.annotations import SPAN_TYPES
from data.labels import LABELS
from data.segment import segment, sentence_hash
from data.select import priority, select
from tests.conftest import SENTENCES, article_text, label_of


def cli(*argv: str) -> tuple[int, str, str]:
    """`python -m data ...` in this process: (exit code, stdout, stderr)."""
    import contextlib
    import io

    from data.__main__ import main

    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(argv))
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def seeds(tmp_path):
    """Three invented articles as .txt files, and an empty gold folder."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    for k in range(3):
        (folder / f"s{k}.txt").write_text(article_text(k))
    (tmp_path / "no_gold").mkdir()
    return folder


def export(tmp_path, seeds, model, *extra) -> list[dict]:
    out = tmp_path / "ls" / "tasks.json"
    code, stdout, err = cli("export-labelstudio", "--input", str(seeds), "--model", str(model), "--out", str(out),
                            "--annotations", str(tmp_path / "no_gold"), *extra)
    assert code == 0, err
    assert "tasks" in stdout
    return json.loads(out.read_text())


# --- export -------------------------------------------------------------------------------------

def test_export_tasks_point_into_the_articles(tmp_path, seeds, tiny_model):
    tasks = export(tmp_path, seeds, tiny_model)
    texts = {f.stem: f.read_text() for f in seeds.iterdir()}
    assert len(tasks) == sum(len(segment(t)) for t in texts.values())
    for task in tasks:
        d = task["data"]
        assert d["corpus"] == "seeds"  # the folder's name by default
        assert texts[d["article_id"]][d["start"]:d["end"]] == d["text"]
        assert d["sha1"] == sentence_hash(d["text"])
        sents = segment(texts[d["article_id"]])
        assert d["before"] == (sents[d["index"] - 1].text if d["index"] else "")
        assert d["after"] == (sents[d["index"] + 1].text if d["index"] + 1 < len(sents) else "")
        (pred,) = task["predictions"]
        assert pred["model_version"].startswith(tiny_model.name)
        assert 0.2 <= pred["score"] <= 1
        (choice,) = [r for r in pred["result"] if r["type"] == "choices"]
        assert choice["value"]["choices"][0] in LABELS
        assert not [r for r in pred["result"] if r["type"] == "labels"]  # no span model in this folder


def test_config_lists_the_five_labels_and_the_span_kinds(tmp_path, seeds, tiny_model):
    tasks = export(tmp_path, seeds, tiny_model)
    root = ET.fromstring((tmp_path / "ls" / "labelstudio_config.xml").read_text())
    assert [c.get("value") for c in root.iter("Choice")] == list(LABELS)
    assert [c.get("value") for c in root.iter("Label")] == list(SPAN_TYPES)
    variables = {v for t in root.iter() for v in re.findall(r"\$(\w+)", t.get("value") or "")}
    assert variables <= set(tasks[0]["data"])  # every $field the config shows is in each task


def test_export_skips_gold_and_names_the_corpus(tmp_path, mini_corpus, tiny_model):
    corpus, ann = mini_corpus
    out = tmp_path / "tasks.json"
    code, _, err = cli("export-labelstudio", "--input", str(corpus / "seeds"), "--model", str(tiny_model),
                       "--out", str(out), "--annotations", str(ann))
    assert code == 2 and err.startswith("error:") and "already has a gold label" in err and len(err.splitlines()) == 1
    (ann / "fnc1.jsonl").unlink()
    code, _, err = cli("export-labelstudio", "--input", str(corpus / "fnc1" / "train_bodies.csv"), "--corpus", "fnc1",
                       "--model", str(tiny_model), "--out", str(out), "--annotations", str(ann))
    assert code == 0, err
    assert {t["data"]["corpus"] for t in json.loads(out.read_text())} == {"fnc1"}


def test_export_select_spreads_over_articles(tmp_path, seeds, tiny_model):
    tasks = export(tmp_path, seeds, tiny_model, "--select", "margin", "--budget", "5", "--per-article", "1")
    assert len(tasks) == 3  # three articles, one each: the cap wins over the budget
    assert len({t["data"]["article_id"] for t in tasks}) == 3
    assert all("priority" in t["data"] for t in tasks)
    prios = [t["data"]["priority"] for t in tasks]
    assert prios == sorted(prios, reverse=True)


def test_export_select_disagree_reads_both_models(tmp_path, seeds, tiny_model):
    tasks = export(tmp_path, seeds, tiny_model, "--select", "disagree", "--budget", "4", "--second-model", str(tiny_model))
    assert len(tasks) == 4
    assert all(abs(t["data"]["priority"]) < 1e-6 for t in tasks)  # a model never disagrees with itself


def test_export_refuses_bad_options(tmp_path, seeds, tiny_model):
    base = ["export-labelstudio", "--input", str(seeds), "--model", str(tiny_model), "--out", str(tmp_path / "t.json")]
    for extra in (["--select", "margin"], ["--select", "disagree", "--budget", "3"], ["--budget", "3"]):
        code, _, err = cli(*base, *extra)
        assert code == 2 and "error:" in err
    code, _, err = cli(*base[:-1], str(tmp_path / "t.csv"))
    assert code == 2 and err.startswith("error:") and ".json" in err


def test_span_pre_annotations_when_the_model_has_a_span_model(tmp_path, seeds, tiny_model, monkeypatch):
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    (model / "spans").mkdir()

    def predict(texts):
        return [{"source": {"text": t[:3], "start": 0, "end": 3}, "cue": None, "figure": None} for t in texts]

    from model import spans as span_model

    monkeypatch.setattr(span_model, "load_tagger", lambda d: types.SimpleNamespace(predict=predict))
    monkeypatch.setattr(span_model, "for_label", lambda found, label: found)  # every label shows its spans here
    tasks = export(tmp_path, seeds, model)
    for t in tasks:
        (span,) = [r for r in t["predictions"][0]["result"] if r["type"] == "labels"]
        assert span["value"] == {"start": 0, "end": 3, "text": t["data"]["text"][:3], "labels": ["source"]}


def test_span_pre_annotations_from_a_real_span_model(tmp_path, seeds, tiny_span_model):
    tasks = export(tmp_path, seeds, tiny_span_model)
    assert any(len(t["predictions"][0]["result"]) > 1 for t in tasks)  # the random tagger marks something
    for t in tasks:
        result = t["predictions"][0]["result"]
        label = result[0]["value"]["choices"][0]
        for r in result[1:]:
            v = r["value"]
            assert r["type"] == "labels" and v["labels"][0] in SPAN_TYPES and label != "unattributed"
            assert t["data"]["text"][v["start"]:v["end"]] == v["text"]
            assert v["labels"] != ["figure"] or label == "official_figure"


# --- selection ----------------------------------------------------------------------------------

def test_uncertainty_ranks_a_near_uniform_score_first():
    probs = np.array([[0.96, 0.01, 0.01, 0.01, 0.01], [0.21, 0.2, 0.2, 0.2, 0.19], [0.5, 0.45, 0.02, 0.02, 0.01]])
    assert int(np.argmax(priority("uncertain", probs))) == 1
    assert int(np.argmax(priority("margin", probs))) == 1
    assert priority("margin", probs)[2] > priority("margin", probs)[0]
    other = np.array([[0.01, 0.96, 0.01, 0.01, 0.01], [0.21, 0.2, 0.2, 0.2, 0.19], [0.5, 0.45, 0.02, 0.02, 0.01]])
    js = priority("disagree", probs, other)
    assert int(np.argmax(js)) == 0 and abs(js[1]) < 1e-9
    r = priority("random", probs, seed=3)
    assert list(r) == list(priority("random", probs, seed=3)) and list(r) != list(priority("random", probs, seed=4))


def test_select_deduplicates_and_caps_per_article():
    items = [{"article": a, "text": t} for a, t in [("A", "one"), ("A", "two"), ("A", "three"), ("A", "four"),
                                                      ("B", "One "), ("B", "five"), ("C", "six")]]
    scores = [0.9, 0.8, 0.7, 0.6, 0.95, 0.1, 0.05]
    # "one" repeats B's higher-ranked "One " (case and spacing do not count); A gives at most 2
    assert select(items, scores, 10, per_article=2) == [4, 1, 6, 2, 5]
    # round-robin: every article's best comes before any article's second
    assert select(items, scores, 3, per_article=3) == [4, 1, 6]
    assert select(items, scores, 10, per_article=1, exclude_texts=["one", "TWO"]) == [2, 5, 6]


# --- import -------------------------------------------------------------------------------------

def ls_task(text: str, start: int, annotations: list, article_id="s0", corpus="seeds", task_id=1) -> dict:
    return {"id": task_id, "data": {"corpus": corpus, "article_id": article_id, "start": start, "end": start + len(text),
                                    "sha1": sentence_hash(text), "text": text, "before": "", "after": ""},
            "annotations": annotations,
            "predictions": [{"result": [choice("disputed")], "model_version": "m", "score": 0.9}]}


def choice(label):
    return {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}


def span(kind, start, end, text):
    return {"from_name": "spans", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": [kind]}}


def import_cli(tmp_path, tasks, *extra):
    path = tmp_path / "export.json"
    path.write_text(tasks if isinstance(tasks, str) else json.dumps(tasks))
    return cli("import-labelstudio", "--export", str(path), "--corpus", "seeds",
               "--out", str(tmp_path / "gold" / "seeds_ls.jsonl"), *extra)


def test_import_takes_the_latest_annotation_and_never_predictions(tmp_path):
    a, b, c = SENTENCES["asserted"], SENTENCES["unverified"], SENTENCES["disputed"]
    tasks = [
        ls_task(a, 0, [{"id": 1, "created_at": "2026-01-01T10:00:00Z", "updated_at": "2026-01-01T10:00:00Z",
                        "result": [choice("disputed")], "completed_by": 7},
                       {"id": 2, "created_at": "2026-01-01T09:00:00Z", "updated_at": "2026-01-02T09:00:00Z",
                        "result": [choice("asserted"), span("source", 0, 21, a)], "completed_by": 8}]),
        ls_task(b, 100, [{"id": 3, "was_cancelled": True, "result": [], "completed_by": 7}], task_id=2),
        ls_task(c, 200, [], task_id=3),
        ls_task(c, 0, [{"id": 4, "result": [choice("disputed")]}], article_id="x", corpus="fnc1", task_id=4),
    ]
    code, out, err = import_cli(tmp_path, tasks)
    assert code == 0, err
    assert "1 skipped" in out and "1 without a label" in out and "1 of other corpora" in out
    (rec,) = [json.loads(x) for x in (tmp_path / "gold" / "seeds_ls.jsonl").read_text().splitlines()]
    assert rec == {"corpus": "seeds", "article_id": "s0", "start": 0, "end": len(a), "sha1": sentence_hash(a),
                   "label": "asserted", "annotator": "labelstudio:user8"}
    (sp,) = [json.loads(x) for x in (tmp_path / "gold" / "spans" / "seeds_ls.jsonl").read_text().splitlines()]
    assert sp["source"] == [0, 21] and sp["cue"] is None and sp["sha1"] == rec["sha1"]
    code, _, err = import_cli(tmp_path, tasks)
    assert code == 2 and "--overwrite" in err


def test_import_reads_span_offsets_as_the_browser_counts_them(tmp_path):
    text = "\U0001F680 " + SENTENCES["asserted"]  # an emoji is 2 UTF-16 units, 1 Python character
    js = {"from_name": "spans", "to_name": "text", "type": "labels",
          "value": {"start": 3, "end": 24, "text": "The harbour authority", "labels": ["source"]}}
    code, _, err = import_cli(tmp_path, [ls_task(text, 0, [{"id": 1, "result": [choice("asserted"), js]}])])
    assert code == 0, err
    (sp,) = [json.loads(x) for x in (tmp_path / "gold" / "spans" / "seeds_ls.jsonl").read_text().splitlines()]
    assert text[slice(*sp["source"])] == "The harbour authority"


@pytest.mark.parametrize("case, message", [
    ("not json", "not JSON"),
    ("not a list", "not a Label Studio JSON export"),
    ("unknown label", "unknown label"),
    ("span offsets", "do not match"),
    ("sentence offsets", "do not match the sentence"),
    ("text changed", "changed since export"),
    ("not our task", "export-labelstudio"),
    ("nothing annotated", "no submitted annotation"),
])
def test_import_errors_are_one_line(tmp_path, case, message):
    text = SENTENCES["asserted"]
    task = ls_task(text, 0, [{"id": 1, "result": [choice("asserted")]}])
    if case == "not json":
        tasks = "<html>Label Studio</html>"
    elif case == "not a list":
        tasks = {"data": task["data"]}
    elif case == "unknown label":
        task["annotations"][0]["result"] = [choice("rumour")]
        tasks = [task]
    elif case == "span offsets":
        bad = span("source", 0, 21, text)
        bad["value"]["start"] = 2
        task["annotations"][0]["result"].append(bad)
        tasks = [task]
    elif case == "sentence offsets":
        task["data"]["end"] += 5
        tasks = [task]
    elif case == "text changed":
        task["data"]["text"] = text.replace("Monday", "Tuesday")
        tasks = [task]
    elif case == "not our task":
        tasks = [{"id": 1, "data": {"text": text}, "annotations": []}]
    else:
        task["annotations"] = []
        tasks = [task]
    code, out, err = import_cli(tmp_path, tasks)
    assert code == 2, (out, err)
    assert err.startswith("error:") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "gold").exists()  # nothing half-written


# --- the real round trip ------------------------------------------------------------------------

def label_studio_python() -> str | None:
    if importlib.util.find_spec("label_studio") is not None:
        return sys.executable
    return os.environ.get("LABEL_STUDIO_PYTHON")


TOKEN = "roundtrip0123456789"


@pytest.fixture
def label_studio(tmp_path):
    """A Label Studio server on a free localhost port, with a user whose API token is TOKEN."""
    python = label_studio_python()
    if python is None:
        pytest.skip("label-studio is not installed: pip install -e '.[labelstudio]' "
                    "(or set LABEL_STUDIO_PYTHON to a Python that has it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(tmp_path / "ls-data"), "SENTRY_DSN": "",
           "COLLECT_ANALYTICS": "false", "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true"}
    log = open(tmp_path / "label-studio.log", "w")
    proc = subprocess.Popen(
        [python, "-c", "from label_studio.server import main; main()", "start", "--no-browser",
         "--internal-host", "127.0.0.1", "--port", str(port), "--username", "roundtrip@localhost",
         "--password", "roundtrip-password", "--user-token", TOKEN, "--enable-legacy-api-token"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300  # migrations on first start take a minute on a small CPU
        while True:
            if proc.poll() is not None:
                pytest.fail(f"Label Studio exited with {proc.returncode}: {(tmp_path / 'label-studio.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
                    if json.load(r).get("status") == "UP":
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail("Label Studio did not become healthy within 300 s")
            time.sleep(1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def api(url: str, method: str, path: str, body=None):
    req = urllib.request.Request(f"{url}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        raw = r.read()
    return json.loads(raw) if raw else None


@pytest.mark.labelstudio
def test_round_trip_through_a_real_label_studio(tmp_path, mini_corpus, tiny_span_model, label_studio):
    from data.build import build, load_built

    corpus, ann = mini_corpus
    (ann / "seeds.jsonl").unlink()  # the seeds' gold will come back from Label Studio instead
    (ann / "spans" / "seeds.jsonl").unlink(missing_ok=True)
    tasks_file = tmp_path / "ls" / "tasks.json"
    code, out, err = cli("export-labelstudio", "--input", str(corpus / "seeds"), "--model", str(tiny_span_model),
                         "--out", str(tasks_file), "--annotations", str(ann))
    assert code == 0, err
    assert "span pre-annotations: yes" in out
    tasks = json.loads(tasks_file.read_text())

    project = api(label_studio, "POST", "/api/projects/", {
        "title": "round trip", "label_config": (tasks_file.parent / "labelstudio_config.xml").read_text()})
    imported = api(label_studio, "POST", f"/api/projects/{project['id']}/import", tasks)
    assert imported["task_count"] == imported["prediction_count"] == len(tasks)  # the pre-annotations were accepted
    served = api(label_studio, "GET", f"/api/tasks/?project={project['id']}&page_size=1000")["tasks"]
    assert len(served) == len(tasks)

    expected, skipped = {}, None
    for k, task in enumerate(sorted(served, key=lambda t: t["id"])):
        d = task["data"]
        where = (d["article_id"], d["start"])
        if k == 0:  # an annotator skips one sentence
            api(label_studio, "POST", f"/api/tasks/{task['id']}/annotations/", {"result": [], "was_cancelled": True})
            skipped = where
            continue
        label = label_of(d["text"])
        result = [choice(label)]
        if label == "asserted":  # "The harbour authority said ..."
            result.append(span("source", 0, 21, d["text"]))
        if k == 1:  # a first, wrong answer, later corrected by a second annotation: the latest counts
            wrong = next(lab for lab in LABELS if lab != label)
            api(label_studio, "POST", f"/api/tasks/{task['id']}/annotations/", {"result": [choice(wrong)]})
            time.sleep(1.1)
        api(label_studio, "POST", f"/api/tasks/{task['id']}/annotations/", {"result": result})
        expected[where] = label

    export_file = tmp_path / "export.json"
    export_file.write_bytes(urllib.request.urlopen(urllib.request.Request(
        f"{label_studio}/api/projects/{project['id']}/export?exportType=JSON&download_all_tasks=true",
        headers={"Authorization": f"Token {TOKEN}"}), timeout=120).read())
    code, out, err = cli("import-labelstudio", "--export", str(export_file), "--corpus", "seeds",
                         "--out", str(ann / "seeds_labelstudio.jsonl"))
    assert code == 0, err
    assert f"{len(expected)} labels" in out and "1 skipped" in out

    build(tmp_path / "data", corpus, annotation_dir=ann)
    dd = load_built(tmp_path / "data")
    names = dd["train"].features["label"].names
    got, spans = {}, {}
    for split in dd.values():
        for row in split:
            if row["source"] == "seeds":
                got[row["article_id"], row["start"]] = names[row["label"]]
                if "source_span" in row:
                    spans[row["article_id"], row["start"]] = row["source_span"]
    # the build drops a training copy of a held-out sentence (the test's seed articles repeat sentences)
    from data.annotations import join, load_records
    from data.readers import read_articles

    joined = join(load_records(ann / "seeds_labelstudio.jsonl"), {a.id: a for a in read_articles(corpus / "seeds")})
    text_of = {(r.article_id, r.start): r.text for r in joined}
    held = set(dd["validation"]["text"]) | set(dd["test"]["text"])
    dropped = expected.keys() - got.keys()
    assert all(text_of[k] in held for k in dropped)
    assert got == {k: v for k, v in expected.items() if k not in dropped} and skipped not in got
    assert spans or "source_span" not in dd["train"].features  # where the build joins span files, check them too
    for where, label in got.items():
        if spans:
            assert spans[where] == ([0, 21] if label == "asserted" else [])
