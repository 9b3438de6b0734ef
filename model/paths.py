"""`--backend auto`: the fastest inference path this machine supports that keeps labels
within a point of fp32 (measured on the real validation and test splits, README "Inference speed").

- CUDA: torch fp16.
- A CPU with VNNI and ONNX Runtime installed: ONNX int8 (about 2.5x fp32; 0.4 points of macro-F1),
  exported once and cached in the model folder; for MiniLM (BERT) models only, since MPNet lost 2.2
  points in int8 (an MPNet, or an ensemble with one, takes the next line).
- Else a CPU with AVX512-BF16 or AMX: torch bf16 (about 1.8x fp32; 0.2% of labels change).
- Anything else: torch fp32 (int8 without VNNI runs at about the fp32 roofline).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BF16 = {"avx512_bf16", "amx_bf16"}
FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_flags() -> set[str]:
    """The CPU's feature flags; STANCE_CPU_FLAGS="avx2,..." stands in for them (to see or test
    what --backend auto does on another CPU)."""
    import os

    if os.environ.get("STANCE_CPU_FLAGS") is not None:
        return {f.strip() for f in os.environ["STANCE_CPU_FLAGS"].split(",") if f.strip()}
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((l for l in info.splitlines() if l.startswith("flags")), "")
    return set(line.split(":", 1)[1].split()) if ":" in line else set()


def describe_cpu(flags: set[str] | None = None) -> str:
    """The CPU's name, cores and the features that decide inference speed, for benchmark output."""
    import os

    flags = cpu_flags() if flags is None else flags
    try:
        name = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                    if l.startswith("model name"))
    except (OSError, StopIteration):
        name = "unknown CPU"
    have = [f for f in FEATURES if f in flags]
    return f"{name}, {os.cpu_count()} cores, features: {', '.join(have) or 'none of ' + '/'.join(FEATURES)}"


@dataclass
class Path_:
    backend: str          # torch | onnx
    dtype: str            # fp32 | bf16 | fp16 (torch)
    quantize: str | None  # int8 (onnx) or None
    why: str

    def __str__(self) -> str:
        what = "ONNX int8" if self.quantize else f"torch {self.dtype}"
        return f"{what} ({self.why})"


# Model types whose int8 graph kept validation macro-F1 within a point of fp32. MiniLM (BERT): 0.4
# points. MPNet lost 2.2 (0.831 -> 0.810 on the real validation split; bf16: 0.832), so it is not here.
INT8_MODEL_TYPES = {"bert"}


def model_types(model_dir: Path) -> set[str]:
    """The `model_type` of a model folder, or of each member of an ensemble folder."""
    import json

    from model.ensemble import member_dirs

    folders = member_dirs(Path(model_dir)) or [Path(model_dir)]
    return {json.loads((f / "config.json").read_text()).get("model_type", "?") for f in folders}


def choose(device: str, flags: set[str], has_onnxruntime: bool, types: set[str] = frozenset({"bert"})) -> Path_:
    """`types`: the model types to run (model_types); int8 only where all of them were measured in int8."""
    if device == "cuda":
        return Path_("torch", "fp16", None, "CUDA GPU")
    vnni, bf16 = flags & {"avx512_vnni", "avx_vnni"}, flags & BF16
    unmeasured = sorted(set(types) - INT8_MODEL_TYPES)
    # int8 before bf16: on a CPU with both, int8 labelled 687 sentences/s and bf16 468 (README).
    if vnni and has_onnxruntime and not unmeasured:
        return Path_("onnx", "fp32", "int8", "the CPU has VNNI")
    if vnni and unmeasured:
        why = f", and int8 moves {'/'.join(unmeasured)} labels by more than a point"
    elif vnni:
        why = ", but ONNX Runtime is not installed (pip install -e \".[onnx]\" for int8, faster still)"
    else:
        why = ""
    if bf16:
        return Path_("torch", "bf16", None, "the CPU has " + "/".join(sorted(bf16)) + why)
    if vnni:
        return Path_("torch", "fp32", None, "the CPU has VNNI" + why)
    return Path_("torch", "fp32", None, "the CPU has neither BF16 nor VNNI")


def has_onnxruntime() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None
