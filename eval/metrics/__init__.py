"""The project's metric, loaded by path so nothing is fetched from the Hub."""

from pathlib import Path

METRIC_PATH = Path(__file__).parent / "stance_f1.py"


def load_metric():
    import evaluate

    return evaluate.load(str(METRIC_PATH))


def score(predictions, references) -> dict:
    return load_metric().compute(predictions=list(map(int, predictions)), references=list(map(int, references)))
