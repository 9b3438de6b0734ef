"""Score a model and the baselines on one evaluation set; write the report."""

from __future__ import annotations

import json
from pathlib import Path

from data.cli import write_atomic
from data.labels import LABELS
from eval.data import EvalSet
from eval import baselines
from eval.metrics import score


def text_kind(source: str) -> str:
    """What a per-source score is evidence of: printed beside every per-source figure."""
    return "team-written text, no evidence about real news" if source == "authored" else "real news"


def by_source(predictions, labels, sources) -> dict:
    """Macro-F1 and accuracy per source (seeds, fnc1, authored, ...)."""
    out = {}
    for src in sorted(set(sources)):
        idx = [i for i, s in enumerate(sources) if s == src]
        m = score([predictions[i] for i in idx], [labels[i] for i in idx])
        out[src] = {"n": len(idx), "macro_f1": m["macro_f1"], "accuracy": m["accuracy"]}
    return out


def evaluate_all(es: EvalSet, predictions: list[int]) -> dict:
    # The majority of the training labels when known; else of the evaluated labels (an upper bound for it).
    systems = {
        "rules": baselines.rules(None, es.texts, es.contexts).argmax(1),
        "majority": baselines.majority(es.train_labels or es.labels, es.texts, es.contexts).argmax(1),
    }
    report = {"data": es.name, "n": len(es.labels)}
    report |= score(predictions, es.labels)
    report["baselines"] = {name: score(p, es.labels) for name, p in systems.items()}
    report["by_source"] = by_source(predictions, es.labels, es.sources)
    return report


def markdown(report: dict) -> str:
    rows = [("fine-tuned model", report)] + [(f"baseline: {k}", v) for k, v in report["baselines"].items()]
    lines = ["# Evaluation report", "", f"Data: `{report['data']}` ({report['n']} sentences). Model: `{report.get('model', '')}`.", "",
             "| system | macro-F1 | accuracy | " + " | ".join(f"F1 {lab}" for lab in LABELS) + " |",
             "|" + "---|" * (3 + len(LABELS))]
    for name, m in rows:
        lines.append(f"| {name} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} | "
                     + " | ".join(f"{m['per_label'][lab]['f1']:.3f}" for lab in LABELS) + " |")
    lines += ["", "## Per label (fine-tuned model)", "", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for lab in LABELS:
        m = report["per_label"][lab]
        lines.append(f"| {lab} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    lines += ["", "## By source", "", "| source | sentences | macro-F1 | accuracy |", "|---|---|---|---|"]
    for src, m in report["by_source"].items():
        lines.append(f"| {src} | {m['n']} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} |")
    lines += ["", "## Confusion matrix (rows gold, columns predicted)", "",
              "| gold \\ pred | " + " | ".join(LABELS) + " |", "|" + "---|" * (1 + len(LABELS))]
    for lab, row in zip(LABELS, report["confusion_matrix"]):
        lines.append(f"| {lab} | " + " | ".join(map(str, row)) + " |")
    lines += ["", "![confusion matrix](confusion_matrix.png)", ""]
    if report.get("spans"):
        from eval.spans import markdown as span_markdown

        lines += span_markdown(report["spans"]) + [""]
    return "\n".join(lines)


def _figure(size):
    import matplotlib

    matplotlib.use("Agg")  # headless: reports are files
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=size)


def _png(fig) -> bytes:
    import io

    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return buf.getvalue()


def confusion_png(matrix: list[list[int]]) -> bytes:
    import numpy as np
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = _figure((6.5, 5.5))
    ConfusionMatrixDisplay(np.array(matrix), display_labels=list(LABELS)).plot(ax=ax, cmap="Blues", colorbar=False,
                                                                               xticks_rotation=35)
    ax.set_title("Source-stance confusion matrix")
    return _png(fig)


def write_report(report: dict, out: Path) -> None:
    write_atomic(out / "report.json", json.dumps(report, indent=2) + "\n")
    write_atomic(out / "report.md", markdown(report))
    write_atomic(out / "confusion_matrix.png", confusion_png(report["confusion_matrix"]))


def reliability_png(bins: list[dict]) -> bytes:
    fig, ax = _figure((5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.bar([b["lo"] for b in bins], [b["accuracy"] for b in bins], width=[b["hi"] - b["lo"] for b in bins],
           align="edge", alpha=0.7, edgecolor="black", label="accuracy in bin")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", color="C1", label="mean confidence")
    ax.set(xlabel="confidence", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1), title="Reliability diagram")
    ax.legend(loc="upper left")
    return _png(fig)
