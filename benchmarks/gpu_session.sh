#!/usr/bin/env bash
# Everything a session with a lent CUDA GPU should do, as one command (at most 8 minutes, so that it
# fits one device call of 10 minutes and a 15-minute device budget with the machine's start: each part
# has a time limit, and the benchmark saves its record after every model and shape):
#   1. the CUDA and Triton tests of tests/test_torch_models.py (parity with cuDNN at every level,
#      padded and packed batches, LSTM projections);
#   2. benchmarks/lstm_gpu.py, LSTM and GRU at both shapes (T=100 B=64 D=H=512; T=1024 B=8 D=H=256),
#      float32 at IEEE precision, every level against cuDNN;
#   3. the same on a ragged batch as a PackedSequence (--packed: lengths from T down to T/4).
# Records go to $OUT when it is set (the device runner's fetch folder), else to benchmarks/results/;
# the log goes next to them. Commit the records as benchmarks/results/lstm_gpu_<gpu>[_packed].json:
# the chapter "LSTMs on the GPU" and benchmarks/README.md read them from there.
#
#   bash benchmarks/gpu_session.sh              # PYTHON=/path/to/python to choose the interpreter
#   bash benchmarks/gpu_session.sh --cpu-check  # no GPU: the same commands on the CPU, the tests only
#                                               # collected, the benchmarks --quick (a test runs this)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${OUT:-benchmarks/results}"
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/gpu_session.log"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if [ "${1:-}" = "--cpu-check" ]; then
    NEED="True"; PYTEST_MODE=(--collect-only); BENCH_MODE=(--device cpu --quick)
else
    NEED="torch.cuda.is_available()"; PYTEST_MODE=(); BENCH_MODE=(--repeats 10)
fi

# The first interpreter that imports torch (with CUDA available, unless --cpu-check): $PYTHON, the
# project's .venv, python3.
PY=""
for candidate in "${PYTHON:-}" .venv/bin/python python3 python; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c "import torch, sys; sys.exit(0 if $NEED else 1)" 2>/dev/null; then
        PY="$candidate"
        break
    fi
done
if [ -z "$PY" ]; then
    echo "gpu_session.sh: no Python here imports torch with CUDA available; nothing to do." | tee "$LOG"
    exit 1
fi

{
    echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) gpu_session.sh $* with $PY"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || true
    "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())"
    "$PY" -c "import triton; print('triton', triton.__version__)" 2>&1 || echo "triton does not import"
} 2>&1 | tee "$LOG"

status=0
echo "== tests: CUDA and Triton parts of tests/test_torch_models.py" | tee -a "$LOG"
if "$PY" -c "import pytest" 2>/dev/null; then
    timeout 150 "$PY" -m pytest -q -p no:cacheprovider -rs "${PYTEST_MODE[@]}" tests/test_torch_models.py \
        -k "cuda or triton" 2>&1 | tee -a "$LOG" || status=1
else
    echo "pytest is not installed for $PY: tests skipped" | tee -a "$LOG"
    status=1
fi

echo "== benchmark: benchmarks/lstm_gpu.py (float32, IEEE), padded batches" | tee -a "$LOG"
timeout 210 "$PY" benchmarks/lstm_gpu.py "${BENCH_MODE[@]}" --out-dir "$OUT_DIR" 2>&1 | tee -a "$LOG" || status=1

echo "== benchmark: benchmarks/lstm_gpu.py --packed (float32, IEEE), a ragged batch" | tee -a "$LOG"
timeout 120 "$PY" benchmarks/lstm_gpu.py "${BENCH_MODE[@]}" --packed --out-dir "$OUT_DIR" 2>&1 \
    | tee -a "$LOG" || status=1

echo "== done, status $status; records and log in $OUT_DIR" | tee -a "$LOG"
exit $status
