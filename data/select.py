"""Which unlabelled sentences to annotate next: active-learning selection.

A strategy turns the model's calibrated scores into a priority (higher = ask an
annotator first); `select` then walks that ranking, dropping sentences whose text
was already picked or labelled (wire copy repeats verbatim across articles) and
spreading the picks over articles round-robin, so one long article of hard
sentences cannot eat the whole budget.

    uncertain  entropy of the scores
    margin     1 - (top score - second score)
    disagree   Jensen-Shannon divergence between two models' scores
    random     seeded uniform priority: the baseline every other strategy must beat
"""

from __future__ import annotations

from collections import defaultdict

STRATEGIES = ("uncertain", "margin", "disagree", "random")


def priority(strategy: str, probs, second=None, seed: int = 0):
    """One priority per row of `probs` (n, labels); `second` is the other model's scores for disagree."""
    import numpy as np

    p = np.asarray(probs, dtype=np.float64)
    if strategy == "random":
        return np.random.default_rng(seed).random(len(p))
    if strategy == "uncertain":
        return entropy(p)
    if strategy == "margin":
        top2 = np.sort(p, axis=1)[:, -2:] if p.shape[1] > 1 else np.concatenate([np.zeros((len(p), 1)), p], axis=1)
        return 1.0 - (top2[:, 1] - top2[:, 0])
    if strategy == "disagree":
        if second is None:
            raise ValueError("the disagree strategy needs a second model's scores")
        q = np.asarray(second, dtype=np.float64)
        if q.shape != p.shape:
            raise ValueError(f"the two models' scores differ in shape: {p.shape} vs {q.shape}")
        m = (p + q) / 2
        # JS divergence = H(mean) - mean(H): 0 when the models agree, ln 2 at most.
        return entropy(m) - (entropy(p) + entropy(q)) / 2
    raise ValueError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")


def entropy(p):
    import numpy as np

    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=1)


def normalise(text: str) -> str:
    """The key for 'the same sentence': case and spacing differences do not make a new one."""
    return " ".join(text.split()).casefold()


def select(items: list[dict], scores, budget: int, per_article: int = 3, exclude_texts=()) -> list[int]:
    """Indices of at most `budget` items, best priority first.

    `items` need "article" (any hashable naming the article) and "text". Round-robin:
    pass k takes, in priority order, the k-th best sentence of each article, for k up to
    `per_article`. Fewer than `budget` come back when the cap or duplicates run out.
    """
    if budget < 0 or per_article < 1:
        raise ValueError("budget must be at least 0 and per_article at least 1")
    seen = {normalise(t) for t in exclude_texts}
    order = sorted(range(len(items)), key=lambda i: (-float(scores[i]), i))
    ranked = []  # best first, without repeats of a text
    for i in order:
        key = normalise(items[i]["text"])
        if key not in seen:
            seen.add(key)
            ranked.append(i)
    rank_in_article, counts = {}, defaultdict(int)
    for i in ranked:
        rank_in_article[i] = counts[items[i]["article"]]
        counts[items[i]["article"]] += 1
    picked: list[int] = []
    for k in range(per_article):
        for i in ranked:
            if len(picked) >= budget:
                return picked
            if rank_in_article[i] == k:
                picked.append(i)
    return picked
