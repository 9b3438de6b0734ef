"""An ensemble model folder: fine-tuned members whose probabilities are averaged.

    <dir>/ensemble.json      {"members": ["members/0", "members/1"]}
    <dir>/members/<k>/       each member's model folder, copied whole
    <dir>/spans/             the span model of the first member that has one

`stance-predict` and `stance-eval` load the folder like any model folder (torch or ONNX, each
member on the same path); `pipeline(...)` loads one member, since Transformers has no ensemble
class. Made by `python scripts/make_ensemble.py`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from model.backbone import ModelError

ENSEMBLE_FILE = "ensemble.json"
_SKIP = ("checkpoints", "onnx", "teacher_soft_labels.npz")  # rebuilt or training-only; not part of the model


def member_dirs(path: Path) -> list[Path] | None:
    """The member folders of an ensemble folder, or None for a single model."""
    spec = Path(path) / ENSEMBLE_FILE
    if not spec.is_file():
        return None
    try:
        members = [Path(path) / m for m in json.loads(spec.read_text())["members"]]
    except (ValueError, KeyError, TypeError) as e:
        raise ModelError(f"{spec}: not an ensemble description ({e})") from None
    if len(members) < 2:
        raise ModelError(f"{spec}: an ensemble needs at least 2 members")
    return members


def weights_hash(path: Path) -> str:
    """What identifies the weights of a model folder: its safetensors' sha256, or its members' together."""
    import hashlib

    from model.backbone import sha256_file

    members = member_dirs(path)
    if members is None:
        return sha256_file(Path(path) / "model.safetensors")
    return hashlib.sha256(" ".join(weights_hash(m) for m in members).encode()).hexdigest()


class Ensemble:
    """Classifier's interface over several members: the mean of their probabilities."""

    def __init__(self, members: list):
        self.members = members
        self.use_context = any(m.use_context for m in members)
        self.device = members[0].device
        self.batch_size = members[0].batch_size

    @property
    def model(self):
        """The members' torch modules as one (parameter counts); None on the ONNX path."""
        import torch

        mods = [m.model for m in self.members]
        return torch.nn.ModuleList(mods) if all(isinstance(m, torch.nn.Module) for m in mods) else None

    @property
    def truncated(self) -> int:
        return max(m.truncated for m in self.members)

    def predict_proba(self, texts, contexts=None, batch_size=None, progress=None):
        import numpy as np

        return np.mean([m.predict_proba(texts, contexts, batch_size,
                                        progress and f"{progress} ({k + 1}/{len(self.members)})")
                        for k, m in enumerate(self.members)], axis=0)


def build(members: list[Path], out: Path, overwrite: bool = False) -> Path:
    """Copy the members into a new ensemble folder, written whole or not at all."""
    from model.backbone import check_model_dir

    if len(members) < 2:
        raise ModelError("an ensemble needs at least 2 --member folders")
    for m in members:
        check_model_dir(m)
        if member_dirs(m) is not None:
            raise ModelError(f"{m}: is an ensemble itself; give its members")
    if any(out.resolve() == m.resolve() for m in members):
        raise ModelError(f"{out}: is one of the members; give another --output-dir")
    if out.exists() and not overwrite:
        raise ModelError(f"{out}: already exists (add --overwrite to replace it)")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _write(members, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def _write(members: list[Path], tmp: Path) -> None:
    from model.spans import SPAN_DIR

    ignore = shutil.ignore_patterns(*_SKIP)
    names = []
    for k, m in enumerate(members):
        shutil.copytree(m, tmp / "members" / str(k), ignore=ignore)
        names.append(f"members/{k}")
    spans = next((m / SPAN_DIR for m in members if (m / SPAN_DIR / "config.json").is_file()), None)
    if spans:
        shutil.copytree(spans, tmp / SPAN_DIR, ignore=ignore)
    settings = [json.loads((m / "stance_config.json").read_text()) if (m / "stance_config.json").is_file() else {}
                for m in members]
    (tmp / ENSEMBLE_FILE).write_text(json.dumps({"members": names, "made_from": [str(m) for m in members]}, indent=2))
    (tmp / "stance_config.json").write_text(json.dumps({
        "ensemble": [s.get("base_model") for s in settings], "use_context": any(s.get("use_context") for s in settings),
        "span_model_from": str(spans.parent) if spans else None}, indent=2))
    (tmp / "README.md").write_text(
        "# Source-stance ensemble\n\nThe mean of the label probabilities of "
        + ", ".join(f"`members/{k}` ({s.get('base_model', '?')}, from `{m}`)" for k, (m, s) in
                    enumerate(zip(members, settings)))
        + ". Load the folder with `stance-predict --model` or `stance-eval --model`; `pipeline(...)` takes one "
        "member folder (`members/0`). Each member's own card is in its folder.\n")
