"""python -m eval --model DIR --data DATASET_DIR_or_FILE.jsonl --out REPORT_DIR [--split test]"""

import argparse
from pathlib import Path

from data.cli import run


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m eval",
                                 description="Score a fine-tuned model and the majority/rule baselines on labelled data.")
    ap.add_argument("--model", required=True, type=Path, help="model directory written by `python -m train`")
    ap.add_argument("--data", required=True, type=Path, help="saved DatasetDict, or JSONL with {text, label[, context]}")
    ap.add_argument("--out", required=True, type=Path, help="report folder (report.json, report.md, confusion_matrix.png)")
    ap.add_argument("--split", default="test", help="split of a DatasetDict to score (default: test)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    args = ap.parse_args(argv)

    def go():
        from eval.data import load_eval_set
        from eval.report import evaluate_all, write_report
        from model.classifier import Classifier

        es = load_eval_set(args.data, args.split)
        clf = Classifier.load(args.model, args.device)
        probs = clf.predict_proba(es.texts, es.contexts, args.batch_size)
        report = evaluate_all(es, probs.argmax(-1).tolist(), probs)
        report["model"] = str(args.model)
        write_report(report, args.out)
        base = report["baselines"]
        print(f"macro-F1 {report['macro_f1']:.3f} (rules {base['rules']['macro_f1']:.3f}, "
              f"majority {base['majority']['macro_f1']:.3f}) on {report['n']} sentences -> {args.out}/report.md")

    run(go, debug=args.debug)


if __name__ == "__main__":
    main()
