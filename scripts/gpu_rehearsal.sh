#!/usr/bin/env bash
# Full-size paper-profile rehearsal on one GPU: `workbench rehearse P --size full --dtype bfloat16` paper by paper,
# within a time budget, so one slow or oversized paper cannot take the others' time. Each paper gets an equal
# share of what is left; a paper that runs out of time is reported as skipped (with the share it had) and the
# next one starts. The merged report ends up in $OUT/report-full-bfloat16.json, and the per-paper table is
# printed at the end (`workbench rehearse` output, then one `paper: status` line each).
#
#   BUDGET=540 OUT=/tmp/out bash scripts/gpu_rehearsal.sh [P1 P2 ...]
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
OUT=${OUT:-/tmp/rehearsal-out}
BUDGET=${BUDGET:-540}
DTYPE=${DTYPE:-bfloat16}
mkdir -p "$OUT"
export WORKBENCH_ARTIFACTS="$OUT/artifacts" HF_HUB_OFFLINE=1
PAPERS=("$@")
[ ${#PAPERS[@]} -eq 0 ] && PAPERS=(P1 P2 P3 P4 P5 P6 P7 P8 P9 P10)
"$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('device:', torch.cuda.get_device_name(0))" || exit 1
start=$(date +%s)
left=${#PAPERS[@]}
for P in "${PAPERS[@]}"; do
  now=$(date +%s); remaining=$(( BUDGET - (now - start) ))
  share=$(( remaining / left )); left=$(( left - 1 ))
  if [ "$share" -lt 20 ]; then echo "$P: skipped (no time left in the ${BUDGET}s budget)"; continue; fi
  timeout --signal=INT "$share" "$PYTHON" -m workbench rehearse "$P" --size full --dtype "$DTYPE" --device cuda \
    > "$OUT/$P.txt" 2> "$OUT/$P.err"
  rc=$?
  case $rc in
    0) echo "$P: ok" ;;
    124|130) echo "$P: skipped (over its ${share}s share; shorten it or give it a session of its own)" ;;
    *) echo "$P: failed (exit $rc): $(grep -h '^error:' "$OUT/$P.txt" "$OUT/$P.err" | head -1)" ;;
  esac
done
cp "$WORKBENCH_ARTIFACTS/rehearsal/report-full-$DTYPE.json" "$OUT/" 2>/dev/null
"$PYTHON" - "$OUT/report-full-$DTYPE.json" <<'PY'
import json, sys
try:
    report = json.load(open(sys.argv[1]))
except OSError:
    sys.exit("no report was written")
print(f"{'paper':6} {'ok':6} {'wall s':>8} {'GPU MB':>9} {'host MB':>9} {'tok/s':>10} {'items/s':>9}  models")
for p in report["papers"]:
    gpu = f"{p['peak_gpu_mb']:,.0f}" if p["peak_gpu_mb"] is not None else "-"
    tok = f"{p['tokens_per_s']:,.0f}" if p["tokens_per_s"] else "-"
    items = f"{p['items_per_s']:,.1f}" if p["items_per_s"] else "-"
    print(f"{p['paper']:6} {'ok' if p['ok'] else 'FAIL':6} {p['wall_s']:8.1f} {gpu:>9} {p['peak_host_mb']:9,.0f} "
          f"{tok:>10} {items:>9}  {', '.join(p['models'])}")
    if p["error"]:
        print("   ", p["error"])
PY
