#!/usr/bin/env bash
# Every provider's step-and-render cost against Twilio's, side by side in
# one run: `cargo bench --bench providers` PASSES times, the providers'
# order reversed on every other pass, then each provider's median time
# divided by Twilio's from the same pass, and the range of those ratios
# over the passes. The target: no provider above 2.0.
#
#   bash scripts/provider-bench.sh [PASSES]     # default 4
#
# Needs a Rust toolchain and python3 (to read criterion's estimates).
set -euo pipefail
cd "$(dirname "$0")/.."
passes="${1:-4}"
target="${CARGO_TARGET_DIR:-target}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for pass in $(seq 1 "$passes"); do
  if [ $((pass % 2)) -eq 0 ]; then export PROVIDER_BENCH_REVERSED=1; else unset PROVIDER_BENCH_REVERSED; fi
  cargo bench --quiet --bench providers -- --noplot >/dev/null 2>&1
  mkdir -p "$out/$pass"
  for d in "$target"/criterion/providers_*; do
    cp "$d/new/estimates.json" "$out/$pass/$(basename "$d").json"
  done
  echo "pass $pass done" >&2
done
python3 - "$out" "$passes" <<'PY'
import json, os, sys, statistics
out, passes = sys.argv[1], int(sys.argv[2])
def median_ns(path):
    return json.load(open(path))["median"]["point_estimate"]
rows = {}
for p in range(1, passes + 1):
    d = os.path.join(out, str(p))
    times = {f[:-5]: median_ns(os.path.join(d, f)) for f in os.listdir(d)}
    for name, t in times.items():
        _, provider, case = name.split("_", 2)
        base = times[f"providers_twilio_{case}"]
        rows.setdefault((case, provider), []).append((t, t / base))
print(f"| case | provider | median µs (passes) | × Twilio (median, range) |")
print(f"| --- | --- | --- | --- |")
order = ["twilio", "plivo", "telnyx", "signalwire", "vxml"]
for case in sorted({c for c, _ in rows}):
    for provider in order:
        r = rows.get((case, provider))
        if not r:
            continue
        us = statistics.median(t for t, _ in r) / 1000
        ratios = [x for _, x in r]
        print(f"| {case} | {provider} | {us:.2f} | {statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) |")
PY
