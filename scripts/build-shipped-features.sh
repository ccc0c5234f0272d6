#!/usr/bin/env bash
# Rebuilds everything the features layer ships for the embedded default model:
# the activation datasets, a TopK SAE at each bundle's hook point (with its
# metrics), the contrastive directions and SAE rankings, and the two bundles with
# their steering checks and cards. Deterministic for a given thread count; about
# two hours on a 2-core machine, most of it in the steering checks.
#
#   bash scripts/build-shipped-features.sh                 # everything
#   STAGE=assistant-style bash scripts/build-shipped-features.sh   # one stage
#
# Stages: sae, directions, coding-roles, assistant-style, html.
#
# The two bundles sit at different depths. The coding roles are readable and
# steerable at blocks.3.post. The home-assistant axes other than formality are
# decided late: the model reads a stated preference for direct, warm or brief
# replies from the system turn in its last blocks, so directions read at block 3
# steer nothing at fluent scales (the card of stop 11 shows directness, warmth
# and detail failing there), while at blocks.5.post they do.
#
# Intermediate files go to $RUNS (default runs/, git-ignored). SAE features are
# named through the features find ranking that found them, so their provenance
# records the ranking.
set -euo pipefail
cd "$(dirname "$0")/.."

imprint() { node dist/src/cli/main.js "$@"; }
MODEL=models/imprint-world-6m
CODING_POINT=blocks.3.post
STYLE_POINT=blocks.5.post
BUNDLES=$MODEL/bundles
RUNS=${RUNS:-runs}
STAGE=${STAGE:-all}
mkdir -p "$RUNS/pairs" "$RUNS/features"

if [ "$STAGE" = all ] || [ "$STAGE" = sae ]; then
  for point in $CODING_POINT $STYLE_POINT; do
    # Training rows: 800 world documents (seed 1); held-out rows: 120 others (seed 2).
    rm -rf "$RUNS/acts-$point" "$RUNS/acts-heldout-$point"
    imprint activations --world 800 --points $point --out "$RUNS/acts-$point"
    imprint activations --world 120 --seed 2 --points $point --out "$RUNS/acts-heldout-$point"
    imprint sae train --data "$RUNS/acts-$point" --latents 2048 --k 32 --steps 1500 --batch 1024 --out $MODEL/sae-$point
    imprint sae eval --sae $MODEL/sae-$point --data "$RUNS/acts-heldout-$point" --model $MODEL --sequences 32 --json > $MODEL/sae-$point/eval.json
  done
fi

# One direction per axis side, at a hook point, with the SAE there ranking its
# latents on the same pairs. FORM=replies contrasts two replies to the same
# unstated request (mean over the dialogue's tokens); FORM=prompts contrasts two
# stated contexts before the same request (the last token, where the reply
# starts); FORM=openings follows both with the same first reply line, written on
# the OPENING side (the last token, where that line ends).
find_direction() { # point domain axis side form [opening]
  local point=$1 domain=$2 axis=$3 side=$4 form=$5 opening=${6:-} positions=all
  [ "$form" = replies ] || positions=last
  local name=$domain-$axis-$side-$form${opening:+-$opening}
  imprint world pairs --domain "$domain" --axis "$axis" --side "$side" --form "$form" ${opening:+--opening "$opening"} --count 128 \
    --pos "$RUNS/pairs/$name.pos.jsonl" --neg "$RUNS/pairs/$name.neg.jsonl"
  imprint features find --pos "$RUNS/pairs/$name.pos.jsonl" --neg "$RUNS/pairs/$name.neg.jsonl" --point "$point" \
    --method diff-means --positions $positions --sae "$MODEL/sae-$point" --top 5 --out "$RUNS/features/$name.json"
}

if [ "$STAGE" = all ] || [ "$STAGE" = directions ]; then
  for spec in directness:direct formality:casual warmth:warm detail:brief; do
    find_direction $STYLE_POINT home "${spec%%:*}" "${spec##*:}" replies
    find_direction $STYLE_POINT home "${spec%%:*}" "${spec##*:}" prompts
  done
  # Where the first line ends: after a direct answer (does a hedged line follow?),
  # after a neutral answer (does a warm acknowledgement follow?), after the first
  # line of a detailed reply (does the reply go on, or end brief?).
  find_direction $STYLE_POINT home directness direct openings direct
  find_direction $STYLE_POINT home warmth warm openings neutral
  find_direction $STYLE_POINT home detail brief openings detailed
  for spec in role:fixer role:machine role:architect role:techlead naming:camel semicolons:semicolons comments:dense; do
    find_direction $CODING_POINT coding "${spec%%:*}" "${spec##*:}" replies
    find_direction $CODING_POINT coding "${spec%%:*}" "${spec##*:}" prompts
  done
fi

# Each bundle is created from its candidates (the directions above and the SAE
# latents their rankings put first) and validated with a fluency guard (a steered
# reply counts only when the unsteered model finds it fluent). coding-roles keeps
# only the features that pass (--drop-failing; the card lists the dropped ones).
# Scales stay small (the residual stream's norm here is about 80): beyond ~40 the
# model stops writing language.
F=$RUNS/features
if [ "$STAGE" = all ] || [ "$STAGE" = coding-roles ]; then
  imprint bundle create --name coding-roles --point $CODING_POINT --out $BUNDLES --data "$RUNS/acts-$CODING_POINT" \
    --description "Coding-agent roles (architect, fixer, tech lead, coding machine) and naming style, at the residual stream after block 3" \
    --feature "fixer, as told in context=$F/coding-role-fixer-prompts.json:role:fixer" \
    --feature "coding machine, as told in context=$F/coding-role-machine-prompts.json:role:machine" \
    --feature "architect, as told in context=$F/coding-role-architect-prompts.json:role:architect" \
    --feature "tech lead, as told in context=$F/coding-role-techlead-prompts.json:role:techlead" \
    --feature "architect replies=$F/coding-role-architect-replies.json:role:architect" \
    --feature "tech lead replies=$F/coding-role-techlead-replies.json:role:techlead" \
    --feature "camelCase names=$F/coding-naming-camel-replies.json:naming:camel" \
    --sae-feature "SAE 1855 (fixer context)=$F/coding-role-fixer-prompts.json#1855:role:fixer" \
    --sae-feature "SAE 366 (coding machine context)=$F/coding-role-machine-prompts.json#366:role:machine" \
    --sae-feature "SAE 1886 (architect context)=$F/coding-role-architect-prompts.json#1886:role:architect" \
    --sae-feature "SAE 1962 (fixer context)=$F/coding-role-fixer-prompts.json#1962:role:fixer" \
    --sae-feature "SAE 1362 (fixer context)=$F/coding-role-fixer-prompts.json#1362:role:fixer" \
    --sae-feature "SAE 1013 (coding machine context)=$F/coding-role-machine-prompts.json#1013:role:machine" \
    --sae-feature "SAE 1579 (architect context)=$F/coding-role-architect-prompts.json#1579:role:architect" \
    --sae-feature "SAE 1250 (tech lead context)=$F/coding-role-techlead-prompts.json#1250:role:techlead" \
    --sae-feature "SAE 1488 (tech lead context)=$F/coding-role-techlead-prompts.json#1488:role:techlead"
  # One scale (25, the best of 10 and 25 in a first run) so there is no selection step.
  imprint bundle validate coding-roles --scale 25 --prompts 96 --max-tokens 100 --write --drop-failing --build-script scripts/build-shipped-features.sh || true
fi

if [ "$STAGE" = all ] || [ "$STAGE" = assistant-style ]; then
  imprint bundle create --name assistant-style --point $STYLE_POINT --out $BUNDLES --data "$RUNS/acts-$STYLE_POINT" \
    --description "Home-assistant communication style: directness, formality, warmth and detail (the axes of the generated world), at the residual stream after the last block" \
    --feature "direct, as told in context=$F/home-directness-direct-prompts.json:directness:direct" \
    --feature "direct replies=$F/home-directness-direct-replies.json:directness:direct" \
    --feature "direct, where the answer ends=$F/home-directness-direct-openings-direct.json:directness:direct" \
    --feature "casual, as told in context=$F/home-formality-casual-prompts.json:formality:casual" \
    --feature "casual replies=$F/home-formality-casual-replies.json:formality:casual" \
    --feature "warm, where the answer ends=$F/home-warmth-warm-openings-neutral.json:warmth:warm" \
    --feature "warm, as told in context=$F/home-warmth-warm-prompts.json:warmth:warm" \
    --feature "brief, where the first line ends=$F/home-detail-brief-openings-detailed.json:detail:brief" \
    --feature "brief, as told in context=$F/home-detail-brief-prompts.json:detail:brief" \
    --feature "brief replies=$F/home-detail-brief-replies.json:detail:brief" \
    --sae-feature "SAE 679 (direct context)=$F/home-directness-direct-prompts.json#679:directness:direct" \
    --sae-feature "SAE 1511 (direct context)=$F/home-directness-direct-prompts.json#1511:directness:direct" \
    --sae-feature "SAE 1567 (direct replies)=$F/home-directness-direct-replies.json#1567:directness:direct" \
    --sae-feature "SAE 204 (casual context)=$F/home-formality-casual-prompts.json#204:formality:casual" \
    --sae-feature "SAE 985 (warm, where the answer ends)=$F/home-warmth-warm-openings-neutral.json#985:warmth:warm" \
    --sae-feature "SAE 902 (warm, where the answer ends)=$F/home-warmth-warm-openings-neutral.json#902:warmth:warm" \
    --sae-feature "SAE 1122 (brief, where the first line ends)=$F/home-detail-brief-openings-detailed.json#1122:detail:brief" \
    --sae-feature "SAE 977 (brief, where the first line ends)=$F/home-detail-brief-openings-detailed.json#977:detail:brief"
  # Two scales (the screen at 16/32/48 on 48 prompts put most margins at 32-48);
  # the features that fail are dropped and listed in the card.
  imprint bundle validate assistant-style --scale 24,48 --prompts 96 --max-tokens 100 --write --drop-failing --build-script scripts/build-shipped-features.sh || true
fi

if [ "$STAGE" = all ] || [ "$STAGE" = html ]; then
  for name in assistant-style coding-roles; do
    imprint bundle show $name --html $BUNDLES/$name.html > /dev/null
  done
fi
