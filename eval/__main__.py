"""stance-eval --model DIR --data DATASET_DIR_or_FILE.jsonl --output-dir REPORT_DIR [--split test]
stance-eval --compare --data DATASET_DIR --output-dir REPORT_DIR [--model [NAME=]DIR ...] [--cv K]

(the same as `python -m eval ...`). Scores say which text they were measured on:
the split, and each source (fnc1, reuters, seeds, authored) separately.
"""

from pathlib import Path

from data.cli import ArgumentParser, run


def main(argv=None) -> None:
    ap = ArgumentParser(prog="stance-eval", description=__doc__)
    ap.add_argument("--model", action="append", help="model directory from `stance-train` "
                    "(with --compare: repeatable, optionally NAME=DIR)")
    ap.add_argument("--data", required=True, type=Path, help="saved DatasetDict, or JSONL with {text, label[, context]}")
    ap.add_argument("--output-dir", "--out", required=True, type=Path, dest="out", help="report folder to write")
    ap.add_argument("--split", default="test", help="split of a DatasetDict to score (default: test)")
    ap.add_argument("--compare", action="store_true",
                    help="train and score every baseline (majority, rules, TF-IDF+LR, embeddings+LR, SetFit) "
                         "beside the given models, with article-bootstrap CIs, calibration, errors and a label audit")
    ap.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples of articles (for --compare, "
                    "and for the span scores of a model with a span model)")
    ap.add_argument("--cv", type=int, default=0, help="also run grouped K-fold CV of the baselines (--compare)")
    ap.add_argument("--cv-train", action="store_true", help="with --cv: also fine-tune the training recipe on every fold")
    ap.add_argument("--train-config", type=Path, default=None, help="recipe for --cv-train (default: train/configs/default.yaml)")
    ap.add_argument("--epochs", type=float, default=None, help="epochs for --cv-train")
    ap.add_argument("--max-steps", type=int, default=None, help="optimiser steps for --cv-train")
    ap.add_argument("--base-model", default=None, help="backbone for --cv-train (default: minilm)")
    ap.add_argument("--skip", nargs="*", default=[], help="baselines to leave out, e.g. setfit (--compare)")
    ap.add_argument("--no-audit", action="store_true", help="skip the cleanlab label audit (--compare)")
    ap.add_argument("--seed", type=int, default=42, help="seed of baselines, bootstrap and CV folds")
    ap.add_argument("--batch-size", type=int, default=64, help="sentences per forward pass")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the models run")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    args = ap.parse_args(argv)
    if not args.compare and (not args.model or len(args.model) != 1):
        ap.error("give exactly one --model (or use --compare)")

    def simple():
        from eval.data import load_eval_set
        from eval.report import evaluate_all, write_report
        from model.classifier import Classifier

        es = load_eval_set(args.data, args.split)
        clf = Classifier.load(args.model[0], args.device)
        probs = clf.predict_proba(es.texts, es.contexts, args.batch_size)
        predicted = probs.argmax(-1).tolist()
        report = evaluate_all(es, predicted)
        report["model"] = str(args.model[0])
        from eval.spans import evaluate_spans
        from model.spans import load_tagger

        spans = evaluate_spans(es, predicted, load_tagger(args.model[0], args.device), args.bootstrap, args.seed)
        if spans:
            report["spans"] = spans
        write_report(report, args.out)
        base = report["baselines"]
        print(f"macro-F1 {report['macro_f1']:.3f} (rules {base['rules']['macro_f1']:.3f}, "
              f"majority {base['majority']['macro_f1']:.3f}) on {es.name}, {report['n']} sentences -> {args.out}/report.md")
        from eval.report import text_kind

        for src, m in report["by_source"].items():
            print(f"  {src:10s} macro-F1 {m['macro_f1']:.3f} on {m['n']} sentences ({text_kind(src)})")
        if spans:
            print(f"who said it, on {spans['sentences']} real sentences with marked spans "
                  f"({'+'.join(spans['sources'])}, {spans['articles']} articles; F1 [95% article-bootstrap CI]):")
            for kind in ("source", "cue", "figure"):
                cells = [f"{name} exact {m[kind]['exact']['f1']:.3f} [{m[kind]['exact']['ci95'][0]:.3f}, "
                         f"{m[kind]['exact']['ci95'][1]:.3f}] overlap {m[kind]['overlap']['f1']:.3f} "
                         f"[{m[kind]['overlap']['ci95'][0]:.3f}, {m[kind]['overlap']['ci95'][1]:.3f}]"
                         for name, m in spans["systems"].items()]
                print(f"  {kind:7s} " + " | ".join(cells))

    def compare():
        from eval.compare import compare as run_compare

        report = run_compare(args)
        for name, m in sorted(report["systems"].items(), key=lambda kv: -kv[1]["macro_f1"]):
            lo, hi = m["ci95"]["macro_f1"]
            print(f"{name:40s} macro-F1 {m['macro_f1']:.3f} [{lo:.3f}, {hi:.3f}]")
        print(f"report -> {args.out}/report.md")

    run(compare if args.compare else simple, debug=args.debug)


if __name__ == "__main__":
    main()
