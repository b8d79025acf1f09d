"""The training side of normalgen, installed as `normalgen_training`."""

from normalgen.onednn import prefer_onednn

prefer_onednn()  # before any module here imports Keras (normalgen.onednn says why)
