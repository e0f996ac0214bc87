#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU:  tests/gpu/run.sh
#
# Runs every CUDA-only test of the suite (the files that skip with "needs a CUDA device", and the device
# tests) and the GPU tests and benchmarks in tests/gpu (bf16 autocast, fp16 with a grad scaler, TF32, fused
# AdamW, torch.compile, nanoGPT's GPU Shakespeare config through TrainJob, GAN pictures/s at 64 and 128 px),
# in one pytest session capped at 7 min 50 s, and writes ONE JSON file: $OUT/gpu.json when $OUT is set,
# else benchmark-results/gpu.json. Exits non-zero when any test fails, when a CUDA-only test was skipped
# although CUDA is here, and at once (status 2, before any test) when there is no CUDA device.
#
# Environment: PYTHON (default .venv/bin/python), AIGC_SHAKESPEARE (tinyshakespeare.txt, when it is not in
# ../shared/data/), AIGC_GPU_NANOGPT_BUDGET_S (seconds for the nanoGPT run at uncompiled speed, default 180),
# AIGC_GPU_NANOGPT_STEPS (fixed steps instead, e.g. 5000 to compare with nanoGPT's 1.4697).
set -euo pipefail

cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
TOTAL_S=470  # 7 min 50 s: the check must take under 8 minutes

if ! "$PY" - <<'EOF'
import sys
try:
    import torch
except ImportError as exc:
    sys.exit(f"tests/gpu/run.sh: torch cannot be imported ({exc}); install the studio first.")
if not torch.cuda.is_available():
    built = torch.version.cuda or "none (a CPU-only build)"
    sys.exit(
        "tests/gpu/run.sh: no CUDA device: torch.cuda.is_available() is False "
        f"(torch {torch.__version__}, CUDA runtime {built}). Run this on a machine with an NVIDIA GPU."
    )
print(f"GPU check on {torch.cuda.get_device_name(0)} (torch {torch.__version__}, CUDA {torch.version.cuda})")
EOF
then
    exit 2
fi

out_dir="${OUT:-benchmark-results}"
mkdir -p "$out_dir"
export AIGC_GPU_JSON="$out_dir/gpu.json"
export QT_QPA_PLATFORM=offscreen
rm -f "$AIGC_GPU_JSON"

mapfile -t cuda_only < <(grep -rl --include='*.py' 'needs a CUDA device' tests | grep -v '^tests/gpu/' | sort)

status=0
timeout --signal=INT --kill-after=20 "$TOTAL_S" \
    "$PY" -m pytest -q -rs -p no:cacheprovider --benchmark \
    tests/gpu "${cuda_only[@]}" tests/core/test_devices.py || status=$?

if [ ! -s "$AIGC_GPU_JSON" ]; then
    echo "tests/gpu/run.sh: no results were written (status $status; 124 or 130 = over ${TOTAL_S} s)" >&2
    [ "$status" -ne 0 ] || status=1
    exit "$status"
fi
echo "Results: $AIGC_GPU_JSON"
exit "$status"
