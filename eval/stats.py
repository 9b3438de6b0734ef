"""Uncertainty and calibration: article bootstrap, grouped folds, ECE, temperature."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from data.labels import LABELS


def macro_f1(y_true, y_pred) -> float:
    return float(f1_score(y_true, y_pred, labels=range(len(LABELS)), average="macro", zero_division=0))


def bootstrap_ci(y_true, y_pred, groups, n: int = 1000, seed: int = 0, alpha: float = 0.05) -> dict:
    """95% CIs of macro-F1 and per-label F1, resampling whole articles with replacement.

    Sentences of one article are not independent (same writer, same story), so
    resampling sentences would understate the uncertainty.
    """
    y_true, y_pred, groups = np.asarray(y_true), np.asarray(y_pred), np.asarray(groups)
    uniq, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(uniq))]
    rng = np.random.default_rng(seed)
    macro, per_label = [], []
    for _ in range(n):
        idx = np.concatenate([members[g] for g in rng.integers(0, len(uniq), len(uniq))])
        t, p = y_true[idx], y_pred[idx]
        macro.append(macro_f1(t, p))
        per_label.append(f1_score(t, p, labels=range(len(LABELS)), average=None, zero_division=0))
    lo, hi = 100 * alpha / 2, 100 * (1 - alpha / 2)
    per_label = np.array(per_label)
    return {
        "n_resamples": n, "unit": "article", "n_articles": int(len(uniq)),
        "macro_f1": [float(np.percentile(macro, lo)), float(np.percentile(macro, hi))],
        "per_label": {lab: [float(np.percentile(per_label[:, i], lo)), float(np.percentile(per_label[:, i], hi))]
                      for i, lab in enumerate(LABELS)},
    }


def grouped_folds(groups, k: int, seed: int = 0) -> list[np.ndarray]:
    """K folds of sentence indices; every article lands in exactly one fold."""
    from sklearn.model_selection import GroupKFold

    groups = np.asarray(groups)
    uniq = np.unique(groups)
    if len(uniq) < k:
        raise ValueError(f"--cv {k}: only {len(uniq)} articles")
    perm = np.random.default_rng(seed).permutation(len(uniq))
    shuffled = perm[np.searchsorted(uniq, groups)]  # random but fixed article order
    return [test for _, test in GroupKFold(n_splits=k).split(groups, groups=shuffled)]


def expected_calibration_error(probs, y_true, bins: int = 10) -> tuple[float, list[dict]]:
    """ECE over equal-width confidence bins, and the per-bin table for the diagram."""
    probs, y_true = np.asarray(probs), np.asarray(y_true)
    conf, pred = probs.max(1), probs.argmax(1)
    correct = (pred == y_true).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    ece, table = 0.0, []
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        mask = (conf > lo) & (conf <= hi) if i else (conf >= lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
            table.append({"lo": float(lo), "hi": float(hi), "n": int(mask.sum()),
                          "accuracy": float(correct[mask].mean()), "confidence": float(conf[mask].mean())})
    return float(ece), table


def retemper(probs, factor: float):
    """Probabilities as if the logits had been multiplied by `factor`.

    Log-probabilities differ from logits by a per-row constant, which softmax
    ignores, so a model's temperature can be undone (factor T) or applied (1/T)
    without running it again.
    """
    from scipy.special import softmax

    return softmax(np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1)) * factor, axis=1)


def fit_temperature(logits, y_true) -> float:
    """The temperature minimising validation NLL (a 1-D search, robust and dependency-free)."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    logits, y_true = np.asarray(logits, dtype=np.float64), np.asarray(y_true)

    def nll(log_t):
        return -log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(y_true)), y_true].mean()

    return float(np.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x))
