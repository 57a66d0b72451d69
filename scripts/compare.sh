#!/usr/bin/env bash
# Side-by-side throughput: `switchboard serve` against the one-upsert
# reference server (examples/reference.rs --mode upsert), same load
# generator, same machine, alternating passes, in one run. Prints each
# pass, then the ratio serve/reference per pair and their range: the only
# kind of figure README and docs/performance.md quote.
#
#   bash scripts/compare.sh [PASSES] [CALLS]      # default: 5 passes of 5000 calls × 64
#
# The server under test runs on core 0 and the load generator on core 1
# (taskset), so run it on an otherwise idle 2-core machine; other work on
# the machine moves both columns. Each pass uses a fresh database in a
# temporary directory. Needs: a Rust toolchain, taskset (util-linux),
# python3 (to read the JSON reports).
set -euo pipefail
cd "$(dirname "$0")/.."

passes="${1:-5}"
calls="${2:-5000}"
concurrency=64
token=12345
port_ref=18081
port_sb=18080

cargo build --release --quiet --bins --examples
bin="${CARGO_TARGET_DIR:-target}/release"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # port
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

# One loadtest against the server on PORT; prints callbacks/s and p99 ms.
load() { # port database-url-or-empty
  local db_args=()
  if [ -n "$2" ]; then db_args=(--database "$2"); fi
  TWILIO_AUTH_TOKEN=$token taskset -c 1 "$bin/switchboard" loadtest \
    --target "http://127.0.0.1:$1" --calls "$calls" --concurrency "$concurrency" \
    --format json "${db_args[@]}" >"$work/report.json"
  python3 - "$work/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
errors = r.get("errors", 0)
complete = r.get("complete_event_logs", "n/a")
print(f"{r['per_second']:.0f} {r['p99_ms']:.2f} {errors} {complete}")
PY
}

run_reference() {
  rm -f "$work"/ref.db*
  taskset -c 0 "$bin/examples/reference" --mode upsert --listen "127.0.0.1:$port_ref" \
    --database "sqlite://$work/ref.db" >"$work/ref.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_for "$port_ref"
  load "$port_ref" ""
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_serve() {
  rm -f "$work"/sb.db*
  TWILIO_AUTH_TOKEN=$token SWITCHBOARD_LOG=warn taskset -c 0 "$bin/switchboard" serve \
    --listen "127.0.0.1:$port_sb" --database "sqlite://$work/sb.db" >"$work/sb.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_for "$port_sb"
  load "$port_sb" "sqlite://$work/sb.db"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "date      $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine   $(nproc) cores, $(uname -r), $(git rev-parse --short HEAD)"
echo "load      $calls calls × $concurrency closed loop per pass, server on core 0, loadtest on core 1"
echo
printf '%-5s %-22s %-22s %s\n' pass "reference /s (p99 ms)" "serve /s (p99 ms)" "serve/reference"
ratios=()
for i in $(seq 1 "$passes"); do
  # Alternate which goes first, so a machine that drifts during the run
  # does not favour either side.
  if [ $((i % 2)) -eq 1 ]; then
    read -r ref ref_p99 ref_err _ < <(run_reference)
    read -r sb sb_p99 sb_err sb_ok < <(run_serve)
  else
    read -r sb sb_p99 sb_err sb_ok < <(run_serve)
    read -r ref ref_p99 ref_err _ < <(run_reference)
  fi
  if [ "$ref_err" != 0 ] || [ "$sb_err" != 0 ]; then
    echo "pass $i had errors (reference $ref_err, serve $sb_err): see $work" >&2
    exit 1
  fi
  ratio=$(python3 -c "print(f'{$sb/$ref:.2f}')")
  ratios+=("$ratio")
  printf '%-5s %-22s %-22s %s×\n' "$i" "$ref ($ref_p99)" "$sb ($sb_p99)" "$ratio"
done
echo
python3 - "${ratios[@]}" <<'PY'
import statistics, sys
r = sorted(float(x) for x in sys.argv[1:])
print(f"serve/reference: {r[0]:.2f}–{r[-1]:.2f}× (median {statistics.median(r):.2f}×) over {len(r)} passes")
PY
