#!/usr/bin/env bash
# Continue run "s26wall" (EXPERIMENTS.md, twenty-sixth session): a 28-epoch stage from stage 8
# (pretrained/normalgen_unet_lit.keras) with steep walls in its data from the start. Run from the
# repository root, in the installed venv; MINUTES (default 90) bounds this sitting, and running it
# again continues. The data is made first where missing (synth keeps finished pairs), then the
# run resumes from runs/s26wall, or from the state committed beside this script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
DATA="${DATA:-data}"
MINUTES="${MINUTES:-90}"
normalgen synth "$DATA/b81" --count 2400 --size 256 --seed 81 --light canonical --broad 0.4
normalgen synth "$DATA/bL83" --count 400 --size 512 --seed 83 --light canonical --broad 0.4
normalgen synth "$DATA/s93" --count 2000 --size 256 --seed 93 --light canonical --broad 0.3 --steep 1
normalgen synth "$DATA/canon2b_val" --count 96 --size 256 --seed 2 --light canonical
normalgen synth "$DATA/steep2_val" --count 96 --size 256 --seed 94 --light canonical --steep 1
if [ ! -f runs/s26wall/state.json ]; then
    mkdir -p runs/s26wall
    cp pretrained/continue/s26wall/last.keras pretrained/continue/s26wall/state.json \
        pretrained/continue/s26wall/log.csv runs/s26wall/
fi
normalgen train "$DATA/b81" "$DATA/bL83" "$DATA/s93" --from pretrained/normalgen_unet_lit.keras \
    --val "$DATA/canon2b_val" --val "$DATA/steep2_val" --out runs/s26wall --epochs 28 --steps 200 \
    --batch-size 4 --patch 256 --lr 1e-4 --seed 26 --minutes "$MINUTES" --resume
