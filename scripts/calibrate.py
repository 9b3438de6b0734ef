"""Fit temperature scaling on a validation split and fold it into a model's head.

    python scripts/calibrate.py --model runs/model --data runs/data [--split validation]

`python -m train` already does this at the end of training; this script does it
for a model trained without it. Labels never change, only the scores. Refuses a
model that is already calibrated.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.cli import run  # noqa: E402


def calibrate(model_dir: Path, data: Path, split: str) -> float:
    import numpy as np

    from data.build import load_built
    from data.readers import DataError
    from eval.stats import expected_calibration_error, fit_temperature, retemper
    from model.classifier import Classifier, fold_temperature

    settings_path = model_dir / "stance_config.json"
    settings = json.loads(settings_path.read_text()) if settings_path.exists() else {}
    if "temperature_folded_into_head" in settings:
        raise DataError(f"{model_dir}: already calibrated (T={settings['temperature_folded_into_head']})")
    val = load_built(data, need=(split,))[split]
    clf = Classifier.load(model_dir, "cpu")
    probs = clf.predict_proba(val["text"], val["context"])
    # log-probabilities differ from logits by a per-row constant, which softmax ignores
    t = fit_temperature(np.log(np.clip(probs, 1e-12, 1)), val["label"])
    before = expected_calibration_error(probs, val["label"])[0]
    t = fold_temperature(clf.model, t)
    clf.model.save_pretrained(model_dir)
    settings["temperature_folded_into_head"] = t
    settings_path.write_text(json.dumps(settings, indent=2))
    after = expected_calibration_error(retemper(probs, 1 / t), val["label"])[0]
    print(f"temperature {t:.3f}; {split} ECE {before:.3f} -> {after:.3f}; saved into {model_dir}")
    return t


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--split", default="validation")
    ap.add_argument("--debug", action="store_true")
    args = ap.parse_args(argv)
    run(lambda: calibrate(args.model, args.data, args.split), debug=args.debug)


if __name__ == "__main__":
    main()
