"""The shipped weights (installed as `normalgen.pretrained`); see MODEL_CARD.md beside this file."""

from pathlib import Path

# Reads photos lit from any side: what `normalgen convert` uses unless told where the light is.
DEFAULT_MODEL_PATH = Path(__file__).with_name("normalgen_unet.keras")
# Trained on photos lit from the right; used (turned to suit) when the user names the light's side.
CANONICAL_MODEL_PATH = Path(__file__).with_name("normalgen_unet_lit.keras")
