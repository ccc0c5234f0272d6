#!/usr/bin/env bash
# Rebuilds everything the features layer ships for the embedded default model:
# the activation datasets, the TopK SAE at blocks.3.post (with its metrics), the
# contrastive directions and SAE rankings, and the two bundles with their steering
# checks and cards. Deterministic for a given thread count; about an hour on a
# 2-core machine, most of it in the steering checks.
#
#   bash scripts/build-shipped-features.sh            # everything
#   STAGE=bundles bash scripts/build-shipped-features.sh   # only the bundles and their checks
#
# Intermediate files go to $RUNS (default runs/, git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

imprint() { node dist/src/cli/main.js "$@"; }
MODEL=models/imprint-world-6m
POINT=blocks.3.post
SAE=$MODEL/sae-$POINT
BUNDLES=$MODEL/bundles
RUNS=${RUNS:-runs}
STAGE=${STAGE:-all}
mkdir -p "$RUNS/pairs" "$RUNS/features"

if [ "$STAGE" = all ] || [ "$STAGE" = sae ]; then
  # Training rows: 800 world documents (seed 1); held-out rows: 120 others (seed 2).
  rm -rf "$RUNS/acts" "$RUNS/acts-heldout"
  imprint activations --world 800 --points $POINT --out "$RUNS/acts"
  imprint activations --world 120 --seed 2 --points $POINT --out "$RUNS/acts-heldout"
  imprint sae train --data "$RUNS/acts" --latents 2048 --k 32 --steps 1500 --batch 1024 --out $SAE
  imprint sae eval --sae $SAE --data "$RUNS/acts-heldout" --model $MODEL --sequences 32 --json > $SAE/eval.json
fi

# One direction per axis side. FORM=replies contrasts two replies to the same
# unstated request (mean over the dialogue's tokens); FORM=prompts contrasts two
# stated contexts before the same request (the last token, where the reply starts).
find_direction() { # domain axis side form
  local domain=$1 axis=$2 side=$3 form=$4 positions=all
  [ "$form" = prompts ] && positions=last
  local name=$domain-$axis-$side-$form
  imprint world pairs --domain "$domain" --axis "$axis" --side "$side" --form "$form" --count 128 \
    --pos "$RUNS/pairs/$name.pos.jsonl" --neg "$RUNS/pairs/$name.neg.jsonl"
  imprint features find --pos "$RUNS/pairs/$name.pos.jsonl" --neg "$RUNS/pairs/$name.neg.jsonl" --point $POINT \
    --method diff-means --positions $positions --sae $SAE --top 5 --out "$RUNS/features/$name.json"
}

if [ "$STAGE" = all ] || [ "$STAGE" = directions ]; then
  for spec in directness:direct formality:casual warmth:warm detail:brief; do
    find_direction home "${spec%%:*}" "${spec##*:}" replies
    find_direction home "${spec%%:*}" "${spec##*:}" prompts
  done
  for spec in role:fixer role:machine role:architect role:techlead naming:camel semicolons:semicolons comments:dense; do
    find_direction coding "${spec%%:*}" "${spec##*:}" replies
    find_direction coding "${spec%%:*}" "${spec##*:}" prompts
  done
fi
