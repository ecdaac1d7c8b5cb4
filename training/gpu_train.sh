#!/usr/bin/env bash
# Train all four ConvLab models on one CUDA GPU, one after another.
#
#   OUT=/path/to/results bash training/gpu_train.sh        # from anywhere; cds to the repo root
#
# Reads the datasets from $CONVLAB_DATA_DIR (default: .data/ in the repo root, laid out as
# ../shared/data: .data/mnist/train-*-ubyte.gz and .data/cifar10-train-jpeg.zip).
# Writes only five files to $OUT: <model>.pt for mnist-mlp, lenet5, mnist-cnn and
# cifar10-net (state_dict + training metadata, see training/train.py) and train.log
# (everything every run printed). Export and model cards are made afterwards, on any
# machine, with:  convlab train <model> --export-only --checkpoint <model>.pt
# (each run here also exports + evaluates into a scratch folder, as a check, logged only).
#
# A failing or overrunning model does not stop the others: each run has its own wall
# clock cap (timeout) and a --time-limit that ends training early but still saves.
#
# Environment (all optional except OUT):
#   CONVLAB_DEVICE  cuda (default) or cpu, for a dry run on a machine without a GPU
#   CONVLAB_LIMIT   train on the first N images only (dry runs)
#   EPOCHS          override every model's epochs (dry runs)
#   MODELS          the models to train, default "mnist-mlp lenet5 mnist-cnn cifar10-net"
#   PYTHON          default python3
set -u
cd "$(dirname "$0")/.." || exit 1
: "${OUT:?set OUT to the folder for the results}"
mkdir -p "$OUT" || exit 1

export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
DEVICE=${CONVLAB_DEVICE:-cuda}
DATA=${CONVLAB_DATA_DIR:-.data}
MODELS=${MODELS:-"mnist-mlp lenet5 mnist-cnn cifar10-net"}
LOG="$OUT/train.log"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/convlab-gpu.XXXXXX")
export CONVLAB_CACHE_DIR="$SCRATCH/cache"
START=$(date +%s)
BUDGET=${BUDGET_S:-480}   # whole script: stop starting new work after this many seconds

note() { echo "$*" | tee -a "$LOG"; }

# Per model: epochs on this machine ("-" = the recipe's default) and a wall-clock cap
# (s) for the whole command. Training itself gets --time-limit = cap - 60 s (start-up,
# data, export and evaluation fit in the rest), so a slow run stops early but saves.
settings() {
  case "$1" in
    mnist-mlp)   echo "-  100" ;;
    lenet5)      echo "-  120" ;;
    mnist-cnn)   echo "30 200" ;;  # more epochs than the CPU default (15): cheap here
    cifar10-net) echo "-  240" ;;
    *)           echo "-  200" ;;
  esac
}

note "== ConvLab GPU training $(date -u +%FT%TZ) on $(hostname 2>/dev/null || uname -n)"
note "== device $DEVICE, data $DATA, models: $MODELS, out $OUT, scratch $SCRATCH"
{ command -v nvidia-smi >/dev/null && nvidia-smi -L
  "$PY" -c 'import sys, torch, onnx, onnxruntime, numpy; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__, "numpy", numpy.__version__)'
  ls -la "$DATA" "$DATA/mnist"
} 2>&1 | tee -a "$LOG"

failed=""
for model in $MODELS; do
  read -r epochs cap <<<"$(settings "$model")"
  [[ "$epochs" == "-" ]] && epochs=""
  epochs=${EPOCHS:-$epochs}
  left=$(( BUDGET - ($(date +%s) - START) ))
  if (( left < 30 )); then
    note "== $model: SKIPPED, only ${left}s of the ${BUDGET}s budget left"
    failed="$failed $model"; continue
  fi
  (( cap > left )) && cap=$left
  limit=$(( cap > 90 ? cap - 60 : cap / 3 ))
  args=(-m training train "$model" --device "$DEVICE" --data-dir "$DATA" --seed 0
        --checkpoint "$OUT/$model.pt" --out "$SCRATCH/models" --time-limit "$limit")
  [[ -n "$epochs" ]] && args+=(--epochs "$epochs")
  [[ -n "${CONVLAB_LIMIT:-}" ]] && args+=(--limit "$CONVLAB_LIMIT")
  note ""
  note "== $model: $PY ${args[*]}  (cap ${cap}s)"
  t0=$(date +%s)
  timeout --kill-after=10 "$cap" "$PY" "${args[@]}" >"$SCRATCH/$model.log" 2>&1
  rc=$?
  cat "$SCRATCH/$model.log" >>"$LOG"
  grep -E "epoch +[0-9]+/|accuracy|Error|error" "$SCRATCH/$model.log" | tail -n 40
  if (( rc != 0 )); then
    failed="$failed $model"
    note "== $model: FAILED with exit code $rc$( ((rc == 124)) && echo ' (timeout)') after $(( $(date +%s) - t0 ))s"
  else
    note "== $model: done in $(( $(date +%s) - t0 ))s"
  fi
  [[ -f "$OUT/$model.pt" ]] || note "== $model: NO CHECKPOINT"
done

note ""
note "== finished in $(( $(date +%s) - START ))s; failed:${failed:- none}"
ls -la "$OUT" 2>&1 | tee -a "$LOG"
rm -rf "$SCRATCH"
[[ -z "$failed" ]]
