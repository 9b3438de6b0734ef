"""The one error policy every CLI shares: one line, non-zero exit, no traceback."""

from __future__ import annotations

import sys


def run(fn, debug: bool = False) -> None:
    from data.readers import DataError
    from model.backbone import ModelError

    try:
        fn()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
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
