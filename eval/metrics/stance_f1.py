"""Macro-F1 over the five source-stance labels, as an `evaluate` metric.

`evaluate.load("f1")` fetches its script from the Hub, which fails offline,
so the project ships its own metric module and loads it by path:

    evaluate.load("eval/metrics/stance_f1.py")

Every label counts equally in the macro average, including labels absent
from a small split (they score 0 rather than silently dropping out).
"""

import datasets
import evaluate
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from data.labels import LABELS

_DESCRIPTION = "Macro-averaged F1, accuracy, per-label precision/recall/F1/support and the confusion matrix."
_KWARGS = """
predictions: list of int label ids; references: list of int label ids.
Returns macro_f1, accuracy, per_label {name: {precision, recall, f1, support}}, confusion_matrix (rows gold).
"""


class StanceF1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("int32"), "references": datasets.Value("int32")}),
        )

    def _compute(self, predictions, references, label_names=LABELS):
        ids = list(range(len(label_names)))
        p, r, f, s = precision_recall_fscore_support(references, predictions, labels=ids, zero_division=0)
        return {
            "macro_f1": float(f.mean()),
            "accuracy": float(accuracy_score(references, predictions)) if references else 0.0,
            "per_label": {
                name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                for i, name in enumerate(label_names)
            },
            "confusion_matrix": confusion_matrix(references, predictions, labels=ids).tolist(),
        }
