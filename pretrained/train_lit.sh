#!/usr/bin/env bash
# The one command that makes the shipped one-side-light weights (pretrained/normalgen_unet_lit.keras),
# the model `normalgen convert --light-from SIDE` uses: synthetic pairs lit from the right, training
# in eight stages, the export, the evaluation on blender-dev (each photo told its sun's side) and the
# model card's pictures. Run from the repository root, in the installed venv:
#
#   bash pretrained/train_lit.sh            # DATA=data RUN=runs/lit by default
#
# Stage 1 trains from scratch on 2,400 pairs; stage 2 continues from stage 1's best on 7,200 (the
# same 2,400 and 4,800 more), stage 3 from stage 2's best on 12,000 (4,800 more again), stage 4
# from stage 3's best on 4,800 new pairs, 9,600 old ones and 1,600 rendered at 512² (the same
# families twice as large in pixels: broad relief at full sharpness), stage 5 from stage 4's best
# on 9,600 of the 256² pairs and 3,200 of 512² (1,600 new), each with a fresh, lower
# learning-rate schedule. Stages 6 and 7 change the patch from 128² to 256² (four times the area,
# a quarter the batch: most pixels see their whole context, not a padded border) on 4,800 pairs of
# 256² and 6,400 of 512² (3,200 new); stage 7 continues stage 6 at a lower rate. Stage 8
# fine-tunes stage 7's best for 28 epochs on 8,400 new pairs, a third of them with broad relief.
# A killed run continues where it stopped when started again (synth keeps finished pairs, train
# --resume continues a stage from its last epoch, and a finished stage is not run again).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DATA="${DATA:-data}"
RUN="${RUN:-runs/lit}"
DEV="${DEV:-../shared/blender-dev}"

normalgen synth "$DATA/canon2" --count 2400 --size 256 --seed 1 --light canonical
normalgen synth "$DATA/canon2_val" --count 96 --size 256 --seed 2 --light canonical
normalgen synth "$DATA/canon3" --count 4800 --size 256 --seed 3 --light canonical
normalgen synth "$DATA/canon5" --count 4800 --size 256 --seed 5 --light canonical
normalgen synth "$DATA/canon7" --count 4800 --size 256 --seed 7 --light canonical
normalgen synth "$DATA/canonL" --count 1600 --size 512 --seed 9 --light canonical
normalgen synth "$DATA/canonL2" --count 1600 --size 512 --seed 11 --light canonical
normalgen synth "$DATA/canonL3" --count 1600 --size 512 --seed 13 --light canonical
normalgen synth "$DATA/canonL4" --count 1600 --size 512 --seed 15 --light canonical
normalgen synth "$DATA/canonL_val" --count 48 --size 512 --seed 10 --light canonical
# Stage 8's data: the same families, with broad relief (base relief drawn 2-8 times larger) in
# 30-40% of the pairs, and 800 pairs of plain-coloured materials.
normalgen synth "$DATA/b81" --count 2400 --size 256 --seed 81 --light canonical --broad 0.4
normalgen synth "$DATA/bP85" --count 800 --size 256 --seed 85 --light canonical --albedo plain --broad 0.4
normalgen synth "$DATA/bL83" --count 400 --size 512 --seed 83 --light canonical --broad 0.4
normalgen synth "$DATA/b87" --count 4800 --size 256 --seed 87 --light canonical --broad 0.3

resume() { [ -f "$1/state.json" ] && echo --resume || true; }
normalgen train "$DATA/canon2" --from scratch --val "$DATA/canon2_val" --out "$RUN/stage1" --epochs 45 \
    --steps 200 --batch-size 16 --patch 128 --lr 1e-3 --seed 0 --head slope --light canonical \
    $(resume "$RUN/stage1")
normalgen train "$DATA/canon2" "$DATA/canon3" --from "$RUN/stage1/best.keras" --val "$DATA/canon2_val" \
    --out "$RUN/stage2" --epochs 40 --steps 200 --batch-size 16 --patch 128 --lr 5e-4 --seed 4 \
    $(resume "$RUN/stage2")
normalgen train "$DATA/canon2" "$DATA/canon3" "$DATA/canon5" --from "$RUN/stage2/best.keras" \
    --val "$DATA/canon2_val" --out "$RUN/stage3" --epochs 36 --steps 200 --batch-size 16 --patch 128 \
    --lr 3e-4 --seed 5 $(resume "$RUN/stage3")
normalgen train "$DATA/canon3" "$DATA/canon5" "$DATA/canon7" "$DATA/canonL" --from "$RUN/stage3/best.keras" \
    --val "$DATA/canon2_val" --out "$RUN/stage4" --epochs 40 --steps 200 --batch-size 16 --patch 128 \
    --lr 2e-4 --seed 7 $(resume "$RUN/stage4")
normalgen train "$DATA/canon5" "$DATA/canon7" "$DATA/canonL" "$DATA/canonL2" --from "$RUN/stage4/best.keras" \
    --val "$DATA/canon2_val" --out "$RUN/stage5" --epochs 40 --steps 200 --batch-size 16 --patch 128 \
    --lr 1.5e-4 --seed 9 $(resume "$RUN/stage5")
L=("$DATA/canon7" "$DATA/canonL" "$DATA/canonL2" "$DATA/canonL3" "$DATA/canonL4")
normalgen train "${L[@]}" --from "$RUN/stage5/best.keras" --val "$DATA/canon2_val" --out "$RUN/stage6" \
    --epochs 24 --steps 200 --batch-size 4 --patch 256 --lr 1e-4 --seed 12 $(resume "$RUN/stage6")
normalgen train "${L[@]}" --from "$RUN/stage6/best.keras" --val "$DATA/canon2_val" --out "$RUN/stage7" \
    --epochs 16 --steps 200 --batch-size 4 --patch 256 --lr 7e-5 --seed 13 $(resume "$RUN/stage7")
B=("$DATA/b81" "$DATA/bP85" "$DATA/bL83" "$DATA/b87")
normalgen train "${B[@]}" --from "$RUN/stage7/best.keras" --val "$DATA/canon2_val" --out "$RUN/stage8" \
    --epochs 28 --steps 200 --batch-size 4 --patch 256 --lr 1e-4 --seed 21 $(resume "$RUN/stage8")
cp "$RUN/stage8/best.keras" pretrained/normalgen_unet_lit.keras
# Whole synthetic photos at both sizes, each told its side, then blender-dev.
normalgen eval "$DATA/canon2_val" --light-from index
normalgen eval "$DATA/canonL_val" --light-from index
if [ -d "$DEV" ]; then
    normalgen eval "$DEV" --light-from index
fi
python pretrained/make_figures.py --lit --dev "$DEV"
