"""Baselines trained on the same training split as the fine-tuned model.

Each returns class probabilities (n, 5) for the evaluated sentences, so every
system goes through the same scoring, bootstrap and calibration code.
"""

from __future__ import annotations

import numpy as np

from data.labels import LABELS
from model.rules import rule_labels


def one_hot(ids) -> np.ndarray:
    return np.eye(len(LABELS), dtype=np.float32)[np.asarray(ids, dtype=int)]


def majority(train_y, texts, contexts) -> np.ndarray:
    return one_hot([np.bincount(train_y, minlength=len(LABELS)).argmax()] * len(texts))


def rules(train_y, texts, contexts) -> np.ndarray:
    return one_hot([LABELS.index(lab) for lab in rule_labels(texts, contexts)])


def _full_proba(clf, x) -> np.ndarray:
    """predict_proba padded to all five labels even if a label was absent in training."""
    out = np.zeros((x.shape[0], len(LABELS)), dtype=np.float32)
    out[:, clf.classes_] = clf.predict_proba(x)
    return out


def tfidf_lr(train_x, train_y, texts, contexts, seed=0) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    clf = LogisticRegression(max_iter=2000, C=5.0, class_weight="balanced", random_state=seed)
    clf.fit(vec.fit_transform(train_x), train_y)
    return _full_proba(clf, vec.transform(texts))


def embeddings_lr(train_emb, train_y, emb, seed=0) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=3000, C=10.0, class_weight="balanced", random_state=seed)
    clf.fit(train_emb, train_y)
    return _full_proba(clf, emb)


def setfit(train_x, train_y, texts, base: str, per_label: int = 64, seed: int = 0) -> np.ndarray:
    """SetFit in its few-shot regime: `per_label` examples of each label, contrastive pairs, LR head."""
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    rng = np.random.default_rng(seed)
    train_y = np.asarray(train_y)
    idx = np.concatenate([rng.permutation(np.flatnonzero(train_y == k))[:per_label] for k in range(len(LABELS))])
    ds = Dataset.from_dict({"text": [train_x[i] for i in idx], "label": train_y[idx].tolist()})
    import tempfile

    model = SetFitModel.from_pretrained(base, labels=list(LABELS))
    with tempfile.TemporaryDirectory() as tmp:  # SetFit otherwise writes checkpoints/ into the cwd
        args = TrainingArguments(output_dir=tmp, batch_size=32, num_iterations=5, num_epochs=1, seed=seed,
                                 show_progress_bar=False, save_strategy="no")
        Trainer(model=model, args=args, train_dataset=ds).train()
    probs = np.asarray(model.predict_proba(texts, batch_size=64, as_numpy=True), dtype=np.float32)
    return probs
