#!/usr/bin/env bash
# The one command that makes the shipped one-side-light weights (pretrained/normalgen_unet_lit.keras),
# the model `normalgen convert --light-from SIDE` uses: synthetic pairs lit from the right, training
# from scratch, the export, the evaluation on blender-dev (each photo told its sun's side) and the
# model card's pictures. Run from the repository root, in the installed venv:
#
#   bash pretrained/train_lit.sh            # DATA=data RUN=runs/lit by default
#
# A killed run continues where it stopped when started again (synth keeps finished pairs,
# train --resume continues from the last epoch).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DATA="${DATA:-data}"
RUN="${RUN:-runs/lit}"
DEV="${DEV:-../shared/blender-dev}"

normalgen synth "$DATA/canon2" --count 2400 --size 256 --seed 1 --light canonical
normalgen synth "$DATA/canon2_val" --count 96 --size 256 --seed 2 --light canonical
resume=()
[ -f "$RUN/state.json" ] && resume=(--resume)
normalgen train "$DATA/canon2" --from scratch --val "$DATA/canon2_val" --out "$RUN" --epochs 45 \
    --steps 200 --batch-size 16 --patch 128 --lr 1e-3 --seed 0 --head slope --light canonical "${resume[@]}"
cp "$RUN/best.keras" pretrained/normalgen_unet_lit.keras
if [ -d "$DEV" ]; then
    normalgen eval "$DEV" --light-from index
fi
python pretrained/make_figures.py --lit --dev "$DEV"
