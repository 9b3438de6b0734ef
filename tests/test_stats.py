import numpy as np
import pytest

from eval.stats import bootstrap_ci, expected_calibration_error, fit_temperature, grouped_folds


def test_ece_on_a_hand_made_example():
    # two bins used: conf 0.9 (2 items, 1 right -> gap .4) and conf 0.6 (2 items, both right -> gap .4)
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    y = np.array([0, 1, 0, 0])
    ece, table = expected_calibration_error(probs, y, bins=10)
    assert ece == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
    assert [b["n"] for b in table] == [2, 2]


def test_bootstrap_resamples_articles_not_sentences():
    # article A: 50 sentences all right; article B: 50 all wrong. Resampling articles makes
    # accuracy swing between 0 and 1; resampling sentences would keep it near 0.5.
    y_true = np.array([0] * 50 + [1] * 50)
    y_pred = np.array([0] * 50 + [0] * 50)
    groups = ["A"] * 50 + ["B"] * 50
    ci = bootstrap_ci(y_true, y_pred, groups, n=200, seed=1)
    assert ci["unit"] == "article" and ci["n_articles"] == 2
    lo, hi = ci["per_label"]["asserted"]
    assert lo < 0.1 and hi == pytest.approx(1.0)   # some resamples hold only A, some only B
    assert bootstrap_ci(y_true, y_pred, groups, n=50, seed=3) == bootstrap_ci(y_true, y_pred, groups, n=50, seed=3)


def test_grouped_folds_never_split_an_article():
    groups = np.repeat([f"a{i}" for i in range(23)], 4)
    folds = grouped_folds(groups, 5, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(groups)))
    owner = {}
    for k, fold in enumerate(folds):
        for i in fold:
            assert owner.setdefault(groups[i], k) == k


def test_temperature_recovers_overconfidence():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(4000, 5)) * 2
    y = np.array([rng.choice(5, p=np.exp(r) / np.exp(r).sum()) for r in true_logits])
    t = fit_temperature(true_logits * 3, y)   # logits three times too sharp
    assert t == pytest.approx(3, rel=0.15)
