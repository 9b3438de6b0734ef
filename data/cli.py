"""What every command shares: its argument conventions and its error policy.

Conventions: `--output-dir` names a folder a command writes, `--output` a file.
Each `--some-option` is also accepted as `--some_option`, the Hugging Face
example scripts' spelling, so `--output_dir` or `--learning_rate` just work.
Errors: one line, exit code 2, no traceback (`--debug` shows it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


class ArgumentParser(argparse.ArgumentParser):
    """argparse with HF-style underscore aliases, and help required on every option."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *names, **kwargs):
        if names and names[0].startswith("--") and kwargs.get("help") is None:
            raise TypeError(f"{names[0]}: every option needs help text")
        extra = ["--" + n[2:].replace("-", "_") for n in names if n.startswith("--") and "-" in n[2:]]
        return super().add_argument(*names, *[n for n in extra if n not in names], **kwargs)


def publish(path: Path) -> None:
    """Give what was written through a private temp path (mkstemp: 0600, mkdtemp: 0700)
    the permissions a plain write would have under the user's umask, so others can read it."""
    mask = os.umask(0)
    os.umask(mask)
    paths = [Path(path), *Path(path).rglob("*")] if Path(path).is_dir() else [Path(path)]
    for p in paths:
        os.chmod(p, (0o777 if p.is_dir() else 0o666) & ~mask)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file whole or not at all: a reader never sees half of it, a crash leaves the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        publish(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(fn, debug: bool = False) -> None:
    from data.readers import DataError
    from model.backbone import ModelError

    try:
        fn()
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
    except (DataError, ModelError) as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:
        if debug:
            raise
        print(f"error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        sys.exit(2)
