"""The shipped weights (installed as `normalgen.pretrained`); see MODEL_CARD.md beside this file."""

from pathlib import Path

DEFAULT_MODEL_PATH = Path(__file__).with_name("normalgen_unet.keras")
