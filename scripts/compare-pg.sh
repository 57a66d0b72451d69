#!/usr/bin/env bash
# Side-by-side on PostgreSQL, in one run with alternating passes: the
# one-upsert reference (examples/reference.rs --mode pg-upsert), one
# `switchboard serve`, and two `switchboard serve` instances over one
# database with `loadtest --target URL1,URL2` (each call's callbacks going
# to them in turn). Same load generator, same machine. Prints each pass,
# then the ratios ours/reference per pass with their range and median: the
# only kind of figure the docs may quote.
#
#   bash scripts/compare-pg.sh [--rate R] [PASSES] [CALLS]
#       # default: 5 passes of 5000 calls × 64 callers, closed loop
#   RATE=5000 bash scripts/compare-pg.sh 3 5000
#       # 1024 callers over 64 connections held to R requests/s (Poisson
#       # start times): compares p99 at that rate instead of throughput;
#       # a few per cent of requests late is this end's timer, more means
#       # a side could not keep up and its p99 understates
#
# The servers run on core 0 (both instances, when there are two) and the
# load generator on core 1 (taskset), so run it on an otherwise idle
# 2-core machine. PostgreSQL's own processes are not pinned: they run
# where the scheduler puts them, alike for all three sides, and their
# memory is not in the peak RSS shown (each server's VmHWM from
# /proc/PID/status, read just before it is stopped). Every side of every
# pass gets a fresh database, created through PG_ADMIN (default
# postgres://postgres@127.0.0.1:5432/test, a user who may CREATE DATABASE)
# and dropped after. Needs: a Rust toolchain, taskset (util-linux), psql,
# python3 (to read the JSON reports).
set -euo pipefail
cd "$(dirname "$0")/.."

rate="${RATE:-}"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate="${2:?--rate needs requests per second, e.g. --rate 5000}"; shift 2 ;;
    --rate=*) rate="${1#--rate=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
passes="${args[0]:-5}"
calls="${args[1]:-5000}"
concurrency=64
connections=64
if [ -n "$rate" ]; then concurrency=1024; fi
token=12345
admin="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
# Not compare.sh's ports, so the two cannot meet.
port_ref=18281
port_sb=18280
port_a=18290
port_b=18291

if ! psql "$admin" -qAtc 'SELECT 1' >/dev/null; then
  echo "cannot reach PostgreSQL through PG_ADMIN=$admin: start it, or point PG_ADMIN at a server where this user may CREATE DATABASE" >&2
  exit 1
fi
for p in "$port_ref" "$port_sb" "$port_a" "$port_b"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "something already listens on 127.0.0.1:$p: stop it first (another compare-pg.sh?)" >&2
    exit 1
  fi
done

cargo build --release --quiet --bins --examples
bin="${CARGO_TARGET_DIR:-target}/release"
work="$(mktemp -d)"
pids=()
dbs=()
keep=0
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for d in "${dbs[@]}"; do
    psql "$admin" -qAtc "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  if [ "$keep" = 1 ]; then
    echo "logs and reports kept in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# A fresh database for one side of one pass: sets db_name and db_url.
make_db() { # side
  db_name="compare_pg_$$_${1}_$pass"
  psql "$admin" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db_name\"" >/dev/null
  dbs+=("$db_name")
  db_url=$(python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$admin" "$db_name")
}

drop_db() {
  psql "$admin" -qAt -v ON_ERROR_STOP=1 -c "DROP DATABASE \"$db_name\" WITH (FORCE)" >/dev/null
}

wait_for() { # port pid log
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then
      echo "the server for 127.0.0.1:$1 exited before listening; its log:" >&2
      cat "$3" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1; see $3" >&2
  keep=1
  return 1
}

# Peak resident memory of PID in kB, as the kernel counted it (0: gone).
peak_rss() { # pid
  awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# Stop a server of ours and forget its id (so cleanup never signals a
# process that reused it).
stop() { # pid
  kill "$1"
  wait "$1" 2>/dev/null || true
  local left=() p
  for p in "${pids[@]}"; do
    if [ "$p" != "$1" ]; then left+=("$p"); fi
  done
  pids=("${left[@]}")
}

start_serve() { # port database-url log; sets last_pid
  TWILIO_AUTH_TOKEN=$token SWITCHBOARD_LOG=warn taskset -c 0 "$bin/switchboard" serve \
    --listen "127.0.0.1:$1" --database "$2" >"$3" 2>&1 &
  last_pid=$!
  pids+=("$last_pid")
  wait_for "$1" "$last_pid" "$3"
}

# One loadtest against TARGETS; prints callbacks/s, p99 ms, errors,
# complete logs (or n/a) and late requests.
load() { # targets database-url-or-empty
  local extra=() rc=0
  if [ -n "$2" ]; then extra+=(--database "$2"); fi
  if [ -n "$rate" ]; then extra+=(--rate "$rate"); fi
  TWILIO_AUTH_TOKEN=$token taskset -c 1 "$bin/switchboard" loadtest \
    --target "$1" --calls "$calls" --concurrency "$concurrency" --connections "$connections" \
    --format json "${extra[@]}" >"$work/report.json" 2>"$work/loadtest.err" || rc=$?
  # 1: errors or incomplete logs, which the report shows; else it did not run.
  if [ "$rc" -gt 1 ] || [ ! -s "$work/report.json" ]; then
    echo "loadtest against $1 failed:" >&2
    cat "$work/loadtest.err" >&2
    return 1
  fi
  python3 - "$work/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
complete = r.get("complete_event_logs", "n/a")
print(f"{r['per_second']:.0f} {r['p99_ms']:.2f} {r.get('errors', 0)} {complete} {r.get('late', 0)}")
PY
}

# Each side prints: callbacks/s p99 errors complete late rss-kB [rss-kB].
run_reference() {
  make_db ref
  taskset -c 0 "$bin/examples/reference" --mode pg-upsert --listen "127.0.0.1:$port_ref" \
    --database "$db_url" >"$work/ref.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_for "$port_ref" "$pid" "$work/ref.log"
  local result rss
  result=$(load "http://127.0.0.1:$port_ref" "")
  rss=$(peak_rss "$pid")
  stop "$pid"
  drop_db
  echo "$result $rss"
}

run_serve() {
  make_db one
  start_serve "$port_sb" "$db_url" "$work/sb.log"
  local pid=$last_pid result rss
  result=$(load "http://127.0.0.1:$port_sb" "$db_url")
  rss=$(peak_rss "$pid")
  stop "$pid"
  drop_db
  echo "$result $rss"
}

run_pair() {
  make_db two
  # One after the other: the second finds the schema migrated.
  start_serve "$port_a" "$db_url" "$work/a.log"
  local a=$last_pid
  start_serve "$port_b" "$db_url" "$work/b.log"
  local b=$last_pid result rss_a rss_b
  result=$(load "http://127.0.0.1:$port_a,http://127.0.0.1:$port_b" "$db_url")
  rss_a=$(peak_rss "$a")
  rss_b=$(peak_rss "$b")
  stop "$a"
  stop "$b"
  drop_db
  echo "$result $rss_a $rss_b"
}

mb() { python3 -c "print(f'{$1 / 1024:.1f}')"; }
late() { if [ -n "$rate" ]; then echo ", $1 late"; fi; }

echo "date      $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine   $(nproc) cores, $(uname -r), $(git rev-parse --short HEAD)"
echo "postgres  $(psql "$admin" -qAtc 'SHOW server_version'), synchronous_commit=$(psql "$admin" -qAtc 'SHOW synchronous_commit')"
if [ -n "$rate" ]; then
  echo "load      $calls calls, $concurrency callers over $connections connections held to $rate requests/s per pass, servers on core 0, loadtest on core 1"
  echo "ratios    p99 ours/reference (lower is better)"
else
  echo "load      $calls calls × $concurrency closed loop per pass, servers on core 0, loadtest on core 1"
  echo "ratios    callbacks/s ours/reference (higher is better)"
fi
echo
ratios_one=()
ratios_two=()
failed=0
for pass in $(seq 1 "$passes"); do
  # Rotate which side goes first, so a machine that drifts during the run
  # favours none of them.
  for k in 0 1 2; do
    case $(((pass - 1 + k) % 3)) in
      0) run_reference >"$work/ref.out" ;;
      1) run_serve >"$work/one.out" ;;
      2) run_pair >"$work/two.out" ;;
    esac
  done
  read -r ref ref_p99 ref_err _ ref_late ref_rss <"$work/ref.out"
  read -r one one_p99 one_err one_ok one_late one_rss <"$work/one.out"
  read -r two two_p99 two_err two_ok two_late two_rss_a two_rss_b <"$work/two.out"
  echo "pass $pass"
  printf '  %-16s %7s/s  p99 %7s ms  errors %s  logs %-11s peak RSS %s MB%s\n' \
    reference "$ref" "$ref_p99" "$ref_err" "n/a" "$(mb "$ref_rss")" "$(late "$ref_late")"
  printf '  %-16s %7s/s  p99 %7s ms  errors %s  logs %-11s peak RSS %s MB%s\n' \
    serve "$one" "$one_p99" "$one_err" "$one_ok/$calls" "$(mb "$one_rss")" "$(late "$one_late")"
  printf '  %-16s %7s/s  p99 %7s ms  errors %s  logs %-11s peak RSS %s + %s MB%s\n' \
    "two instances" "$two" "$two_p99" "$two_err" "$two_ok/$calls" "$(mb "$two_rss_a")" "$(mb "$two_rss_b")" "$(late "$two_late")"
  if [ "$ref_err" != 0 ] || [ "$one_err" != 0 ] || [ "$two_err" != 0 ] \
    || [ "$one_ok" != "$calls" ] || [ "$two_ok" != "$calls" ]; then
    echo "pass $pass had errors or incomplete logs: the servers' logs are kept" >&2
    keep=1
    failed=1
    break
  fi
  if [ -n "$rate" ]; then
    r1=$(python3 -c "print(f'{$one_p99/$ref_p99:.2f}')")
    r2=$(python3 -c "print(f'{$two_p99/$ref_p99:.2f}')")
  else
    r1=$(python3 -c "print(f'{$one/$ref:.2f}')")
    r2=$(python3 -c "print(f'{$two/$ref:.2f}')")
  fi
  ratios_one+=("$r1")
  ratios_two+=("$r2")
  echo "  serve/reference ${r1}×, two instances/reference ${r2}×"
done
if [ "$failed" = 1 ]; then exit 1; fi
echo
what=$([ -n "$rate" ] && echo "p99 at $rate/s" || echo "callbacks/s")
python3 - "$what" "${ratios_one[*]}" "${ratios_two[*]}" <<'PY'
import statistics, sys
what = sys.argv[1]
for name, arg in (("serve/reference", sys.argv[2]), ("two instances/reference", sys.argv[3])):
    r = sorted(float(x) for x in arg.split())
    over = f"{len(r)} pass" + ("es" if len(r) > 1 else "")
    print(f"{name + ',':<25} {what}: {r[0]:.2f}–{r[-1]:.2f}× (median {statistics.median(r):.2f}×) over {over}")
PY
