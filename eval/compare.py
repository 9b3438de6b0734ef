"""`python -m eval --compare`: every system on the same split, in one honest table.

Systems: majority class, cue-word rules, TF-IDF + LR, frozen backbone
embeddings + LR, SetFit (few-shot regime), and each fine-tuned model given
with --model (plus its context-removed ablation). All trainable baselines fit
on the same training split. Uncertainty: article-level bootstrap CIs.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from pathlib import Path

import numpy as np

from data.build import load_built
from data.cli import write_atomic
from data.labels import LABELS
from eval import baselines
from eval.metrics import score
from eval.report import by_source
from eval.stats import bootstrap_ci, expected_calibration_error, grouped_folds, retemper
from model.backbone import minilm_dir, sha256_file
from model.classifier import Classifier
from model.embed import embed
from model.ensemble import weights_hash

BASELINES = ("majority", "rules", "tfidf_lr", "embeddings_lr", "setfit")


def data_hash(dd) -> str:
    h = hashlib.sha256()
    for split in sorted(dd):
        for i, lab in zip(dd[split]["id"], dd[split]["label"]):
            h.update(f"{split}\t{i}\t{lab}\n".encode())
    return h.hexdigest()


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("torch", "transformers", "datasets", "evaluate", "scikit-learn", "setfit", "cleanlab"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def system_scores(probs, y, groups, sources, n_boot, seed) -> dict:
    pred = probs.argmax(1)
    m = score(pred, y)
    m["ci95"] = bootstrap_ci(y, pred, groups, n=n_boot, seed=seed)
    m["by_source"] = by_source(pred, y, sources)
    return m


def run_baselines(names, train, evald, base, seed, emb=None) -> dict[str, np.ndarray]:
    """Probabilities of each baseline on `evald`, trained on `train` (datasets with text/context/label)."""
    ty = np.asarray(train["label"])
    texts, contexts = evald["text"], evald["context"]
    out = {}
    for name in names:
        started = time.time()
        if name == "majority":
            out[name] = baselines.majority(ty, texts, contexts)
        elif name == "rules":
            out[name] = baselines.rules(ty, texts, contexts)
        elif name == "tfidf_lr":
            out[name] = baselines.tfidf_lr(train["text"], ty, texts, contexts, seed)
        elif name == "embeddings_lr":
            tr_e, ev_e = emb or (embed(train["text"], base), embed(texts, base))
            out[name] = baselines.embeddings_lr(tr_e, ty, ev_e, seed)
        elif name == "setfit":
            out[name] = baselines.setfit(train["text"], ty, texts, base, seed=seed)
        print(f"  {name}: {time.time() - started:.0f}s")
    return out


def label_audit(dd, base, seed, out: Path, k: int = 5) -> int:
    """Out-of-fold embedding-LR probabilities over all gold data, through cleanlab."""
    from cleanlab.filter import find_label_issues
    from datasets import concatenate_datasets

    allds = concatenate_datasets([dd[s] for s in dd])
    emb = embed(allds["text"], base)
    y = np.asarray(allds["label"])
    oof = np.zeros((len(y), len(LABELS)), dtype=np.float32)
    groups = [f"{s}:{a}" for s, a in zip(allds["source"], allds["article_id"])]
    for fold in grouped_folds(groups, k, seed):
        train_idx = np.setdiff1d(np.arange(len(y)), fold)
        oof[fold] = baselines.embeddings_lr(emb[train_idx], y[train_idx], emb[fold], seed)
    issues = find_label_issues(y, oof, return_indices_ranked_by="self_confidence")
    lines = [json.dumps({"id": allds[int(i)]["id"], "source": allds[int(i)]["source"],
                         "text": allds[int(i)]["text"], "context": allds[int(i)]["context"],
                         "given": LABELS[y[i]], "suggested": LABELS[int(oof[i].argmax())],
                         "given_prob": round(float(oof[i, y[i]]), 4)}, ensure_ascii=False) for i in issues]
    write_atomic(out / "label_issues.jsonl", "".join(line + "\n" for line in lines))
    return len(lines)


def finetune_fold(train_ds, val_ds, test_ds, args, workdir: Path) -> np.ndarray:
    """Run the training recipe on one fold and return its test-fold probabilities."""
    from argparse import Namespace

    from datasets import DatasetDict

    from train.trainer import train

    data = workdir / "data"
    DatasetDict({"train": train_ds, "validation": val_ds, "test": test_ds}).save_to_disk(str(data))
    train(Namespace(data=data, output_dir=workdir / "model", config=args.train_config, epochs=args.epochs,
                    max_steps=args.max_steps, seed=args.seed, base_model=args.base_model, batch_size=None,
                    learning_rate=None, no_context=False, device=args.device, resume=False, overwrite=True,
                    keep_checkpoints=False, no_spans=True))  # folds score labels only
    return Classifier.load(workdir / "model", args.device).predict_proba(test_ds["text"], test_ds["context"])


def cross_validate(dd, names, base, k, seed, args=None) -> dict:
    """Grouped K-fold over every gold sentence (small-data mode): mean ± sd macro-F1.

    With --cv-train the fine-tuning recipe runs on every fold too: fold i is the
    test fold and fold i+1 the validation fold that picks its best epoch.
    """
    import tempfile

    from datasets import concatenate_datasets

    allds = concatenate_datasets([dd[s] for s in dd])
    groups = [f"{s}:{a}" for s, a in zip(allds["source"], allds["article_id"])]
    emb_all = embed(allds["text"], base) if "embeddings_lr" in names else None
    scores = {n: [] for n in names}
    folds = grouped_folds(groups, k, seed)
    for i, fold in enumerate(folds):
        train_idx = np.setdiff1d(np.arange(len(allds)), fold)
        tr, ev = allds.select(train_idx), allds.select(fold)
        emb = (emb_all[train_idx], emb_all[fold]) if emb_all is not None else None
        probs = run_baselines(names, tr, ev, base, seed, emb)
        if args is not None and args.cv_train:
            val_idx = folds[(i + 1) % k]
            fit_idx = np.setdiff1d(train_idx, val_idx)
            with tempfile.TemporaryDirectory() as tmp:
                probs["fine-tuned"] = finetune_fold(allds.select(fit_idx), allds.select(val_idx), ev, args, Path(tmp))
        for n, p in probs.items():
            scores.setdefault(n, []).append(score(p.argmax(1), ev["label"])["macro_f1"])
    return {n: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)), "folds": v} for n, v in scores.items()}


def compare(args) -> dict:
    dd = load_built(args.data, need=("train", args.split))
    train, evald = dd["train"], dd[args.split]
    base = str(minilm_dir())
    y = np.asarray(evald["label"])
    groups = [f"{s}:{a}" for s, a in zip(evald["source"], evald["article_id"])]
    sources = evald["source"]
    names = [n for n in BASELINES if n not in (args.skip or [])]
    print(f"training baselines on {len(train)} sentences, scoring {len(evald)} ({args.split})")
    probs = run_baselines(names, train, evald, base, args.seed)

    models, calibration = {}, {}
    for spec in args.model or []:
        name, _, path = spec.rpartition("=")
        name = name or Path(path).name
        clf = Classifier.load(path, args.device)
        clf.predict_proba(evald["text"][:64], evald["context"][:64])  # warm-up, so the timing below is steady
        started = time.perf_counter()
        p = clf.predict_proba(evald["text"], evald["context"])
        speed = len(y) / (time.perf_counter() - started)
        probs[f"fine-tuned:{name}"] = p
        trained = json.loads((Path(path) / "metrics.json").read_text()) if (Path(path) / "metrics.json").exists() else {}
        models[name] = {"path": path, "sha256": weights_hash(Path(path)),
                        "settings": json.loads((Path(path) / "stance_config.json").read_text()),
                        "parameters": sum(t.numel() for t in clf.model.parameters()),
                        "train_seconds": trained.get("train_seconds"), "train_device": trained.get("device"),
                        "sentences_per_second": round(speed, 1), "device": clf.device}
        if clf.use_context:
            probs[f"fine-tuned:{name} (context removed)"] = clf.predict_proba(evald["text"], [""] * len(y))
        t = models[name]["settings"].get("temperature_folded_into_head", 1.0)
        raw = retemper(p, t)
        ece_after, table = expected_calibration_error(p, y)
        calibration[name] = {"temperature": t, "ece_uncalibrated": expected_calibration_error(raw, y)[0],
                             "ece": ece_after, "bins": table}

    systems = {n: system_scores(p, y, groups, sources, args.bootstrap, args.seed) for n, p in probs.items()}
    report = {
        "data": str(args.data), "split": args.split, "n": int(len(y)), "n_train": len(train), "seed": args.seed,
        "data_sha256": data_hash(dd), "versions": versions(), "backbone_sha256": sha256_file(Path(base) / "model.safetensors"),
        "models": models, "systems": systems, "calibration": calibration,
    }
    primary = next((n for n in probs if n.startswith("fine-tuned:") and "removed" not in n), None)
    out = Path(args.out)
    if primary:
        report |= {k: systems[primary][k] for k in ("macro_f1", "accuracy", "per_label", "confusion_matrix")}
        report["primary"] = primary
        write_errors(evald, probs[primary], out)
    if args.cv:
        print(f"{args.cv}-fold grouped cross-validation")
        report["cv"] = cross_validate(dd, [n for n in names if n != "setfit"], base, args.cv, args.seed, args)
    if not args.no_audit:
        report["label_issues"] = label_audit(dd, base, args.seed, out)
    write_compare_report(report, evald, out)
    return report


def write_errors(evald, probs, out: Path) -> None:
    pred, conf = probs.argmax(1), probs.max(1)
    wrong = [i for i in np.argsort(-conf) if pred[i] != evald[int(i)]["label"]]
    recs = [{"id": evald[int(i)]["id"], "source": evald[int(i)]["source"], "context": evald[int(i)]["context"],
             "text": evald[int(i)]["text"], "gold": LABELS[evald[int(i)]["label"]], "predicted": LABELS[pred[i]],
             "confidence": round(float(conf[i]), 4)} for i in wrong]
    write_atomic(out / "errors.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))


def write_compare_report(report: dict, evald, out: Path) -> None:
    from eval.report import confusion_png, reliability_png

    lines = ["# Comparison report", "",
             f"Split `{report['split']}` of `{report['data']}`: {report['n']} sentences; trainable systems fit on "
             f"{report['n_train']} training sentences. Seed {report['seed']}. 95% CIs: {next(iter(report['systems'].values()))['ci95']['n_resamples']} "
             f"bootstrap resamples of articles.", "",
             "| system | macro-F1 [95% CI] | accuracy | " + " | ".join(f"F1 {lab}" for lab in LABELS) + " |",
             "|" + "---|" * (3 + len(LABELS))]
    for name, m in sorted(report["systems"].items(), key=lambda kv: -kv[1]["macro_f1"]):
        lo, hi = m["ci95"]["macro_f1"]
        lines.append(f"| {name} | {m['macro_f1']:.3f} [{lo:.3f}, {hi:.3f}] | {m['accuracy']:.3f} | "
                     + " | ".join(f"{m['per_label'][lab]['f1']:.2f}" for lab in LABELS) + " |")
    if report["models"]:
        lines += ["", "## Fine-tuned models", "", "| model | backbone | teacher | parameters | training | "
                  "inference (this split) |", "|---|---|---|---|---|---|"]
        for name, m in report["models"].items():
            st = m["settings"]
            trained = f"{m['train_seconds'] / 60:.0f} min on {m['train_device']}" if m.get("train_seconds") else "?"
            lines.append(f"| {name} | {st.get('base_model', '?')} | {teacher_names(st.get('teacher'))} | "
                         f"{m['parameters'] / 1e6:.0f}M | {trained} | {m['sentences_per_second']:.0f} sentences/s on {m['device']} |")
    srcs = sorted({s for m in report["systems"].values() for s in m["by_source"]})
    lines += ["", "## By source (macro-F1)", "", "| system | " + " | ".join(srcs) + " |", "|" + "---|" * (1 + len(srcs))]
    for name, m in report["systems"].items():
        lines.append(f"| {name} | " + " | ".join(f"{m['by_source'][s]['macro_f1']:.3f} (n={m['by_source'][s]['n']})"
                                                 if s in m["by_source"] else "" for s in srcs) + " |")
    if report.get("cv"):
        lines += ["", "## Grouped cross-validation (all gold data, folds by article)", "", "| system | macro-F1 mean ± sd |", "|---|---|"]
        lines += [f"| {n} | {v['mean']:.3f} ± {v['sd']:.3f} |" for n, v in report["cv"].items()]
    for name, c in report["calibration"].items():
        lines += ["", f"## Calibration: {name}", "",
                  f"Temperature {c['temperature']:.3f} (fitted on validation, folded into the head). "
                  f"ECE on this split: {c['ece_uncalibrated']:.3f} before, **{c['ece']:.3f}** after."]
        if report.get("primary") == f"fine-tuned:{name}":  # the diagram is drawn for the primary model
            lines += ["", "![reliability diagram](reliability.png)"]
    if "primary" in report:
        p = report["per_label"]
        lines += ["", f"## Per label: {report['primary']}", "", "| label | precision | recall | F1 [95% CI] | support |", "|---|---|---|---|---|"]
        ci = report["systems"][report["primary"]]["ci95"]["per_label"]
        lines += [f"| {lab} | {p[lab]['precision']:.3f} | {p[lab]['recall']:.3f} | {p[lab]['f1']:.3f} "
                  f"[{ci[lab][0]:.2f}, {ci[lab][1]:.2f}] | {p[lab]['support']} |" for lab in LABELS]
        lines += ["", "![confusion matrix](confusion_matrix.png)", "", "## Most confident errors", "",
                  "| confidence | gold | predicted | sentence (context) |", "|---|---|---|---|"]
        errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()[:25]]
        for e in errors:
            ctx = f" <sub>({e['context'][:120]})</sub>" if e["context"] else ""
            lines.append(f"| {e['confidence']:.2f} | {e['gold']} | {e['predicted']} | {e['text'][:200].replace('|', '/')}{ctx.replace('|', '/')} |")
    if "label_issues" in report:
        lines += ["", "## Label audit", "", f"cleanlab flags {report['label_issues']} sentences whose gold label "
                  "disagrees with out-of-fold predictions; see `label_issues.jsonl` for review (not auto-corrected)."]
    lines += ["", "## Provenance", "", f"- data sha256 `{report['data_sha256']}`",
              f"- backbone sha256 `{report['backbone_sha256']}`"]
    lines += [f"- model `{n}` sha256 `{m['sha256']}`" for n, m in report["models"].items()]
    lines += ["- versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()), ""]
    write_atomic(out / "report.json", json.dumps(report, indent=2) + "\n")
    write_atomic(out / "report.md", "\n".join(lines))
    if "primary" in report:
        write_atomic(out / "confusion_matrix.png", confusion_png(report["confusion_matrix"]))
        name = report["primary"].split(":", 1)[1]
        write_atomic(out / "reliability.png", reliability_png(report["calibration"][name]["bins"]))


def teacher_names(teacher) -> str:
    """A model's teacher(s) as recorded in stance_config.json: none, one path (older models) or a list."""
    if not teacher:
        return "-"
    return " + ".join(Path(t).name for t in ([teacher] if isinstance(teacher, str) else teacher))
