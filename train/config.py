"""Training configuration: a YAML recipe (train/configs/) overridden by CLI flags."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "default.yaml"
WEIGHTINGS = ("none", "inverse", "sqrt_inverse")  # loss weight per class: 1, 1/frequency, 1/sqrt(frequency)


@dataclass
class ModelConfig:
    base_model: str = "minilm"
    use_context: bool = False
    max_length: int = 128
    class_weighting: str = "sqrt_inverse"
    layers: int | None = None     # keep only the backbone's first N transformer layers (a faster, smaller model)


@dataclass
class DistilConfig:
    """Used only with --teacher."""
    temperature: float = 1.0      # the teacher is calibrated, so T = 1 gives calibrated soft labels
    max_pool: int | None = None   # cap on pool sentences the teacher labels (seeded sample)


@dataclass
class SpanConfig:
    """The span model (who said it), trained after the classifier into <output-dir>/spans."""
    enabled: bool = True
    base_model: str = "classifier"  # "classifier": start from the just-trained classifier's encoder; or a backbone
    layers: int | None = None     # keep only the backbone's first N layers (faster; tagging is mostly lexical)
    negatives: float | None = None  # unattributed (span-free) sentences kept per span-marked one; None: all
    epochs: float = 5
    learning_rate: float = 5e-5
    batch_size: int = 32


@dataclass
class Recipe:
    model: ModelConfig = field(default_factory=ModelConfig)
    training: dict = field(default_factory=dict)
    distillation: DistilConfig = field(default_factory=DistilConfig)
    spans: SpanConfig = field(default_factory=SpanConfig)


def load_recipe(path: Path | None) -> Recipe:
    from data.readers import DataError

    path = path or DEFAULT_CONFIG
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError:
        raise DataError(f"{path}: config file not found") from None
    except yaml.YAMLError as e:
        raise DataError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    for section, cls in (("model", ModelConfig), ("distillation", DistilConfig), ("spans", SpanConfig)):
        known = {f.name for f in fields(cls)}
        unknown = set(raw.get(section) or {}) - known
        if unknown:
            raise DataError(f"{path}: unknown {section} option(s) {', '.join(sorted(unknown))}; "
                            f"known: {', '.join(sorted(known))}")
    if raw.get("model", {}).get("class_weighting", "none") not in WEIGHTINGS:
        raise DataError(f"{path}: class_weighting must be none, inverse or sqrt_inverse")
    return Recipe(ModelConfig(**(raw.get("model") or {})), dict(raw.get("training") or {}),
                  DistilConfig(**(raw.get("distillation") or {})), SpanConfig(**(raw.get("spans") or {})))
