"""Average the weights of fine-tunes from one start (a model soup) into one float32 .keras file.

    python pretrained/average_weights.py OUT.keras RUN1/best.keras RUN2/best.keras ...
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    if len(sys.argv) < 4:
        raise SystemExit(__doc__.strip())
    from normalgen.errors import ModelError
    from normalgen_training.average import average_weights

    try:
        out = average_weights(sys.argv[2:], sys.argv[1])
    except (ModelError, ValueError) as exc:
        raise SystemExit(str(exc)) from None
    print(f"wrote {out}: the mean of {len(sys.argv) - 2} models")


if __name__ == "__main__":
    main()
