#!/usr/bin/env bash
# Callback latency while the background retention purge deletes 1,000,000
# old calls, against the same load with no purge, in one run with
# alternating passes. Prints each pass (p50/p99/max, how long the purge
# took and whether it was still running when the load ended, the server's
# warnings), then the ratio purge/no-purge of each pair: the only kind of
# figure docs/performance.md quotes.
#
#   bash scripts/purge-bench.sh [--backend sqlite|postgres] [PASSES] [SECONDS]
#       # default: sqlite, 3 passes of each side, 30 s of load each
#   RATE=2000 OLD_CALLS=1000000 bash scripts/purge-bench.sh 3 30
#
# Every pass starts `switchboard serve` on a fresh copy of one seeded
# database holding OLD_CALLS calls started a year ago (2 or 3 `steps` rows
# each with the state, TwiML and records the server writes, a voicemail
# for 10% of them, a callback for 5%, a survey answer for 4%). The purge
# side runs it with `--retention 1d`, whose background task starts purging
# at once (paced batches, see docs/privacy.md); the other side without. The
# load is the same for both: `loadtest --rate RATE` (Poisson start times,
# 1024 callers over 64 connections, signed, closed by the event-log
# check) sized to last about SECONDS, which must end well before the
# purge does. Each purge pass reports how many old calls were gone by the
# load's end; the first then waits for the server's "purged the calls
# past their retention period" line (at most PURGE_WAIT s, default 1800)
# and reports the whole purge's duration from the server's start. Passes run no-purge first in odd pairs, purge first in
# even ones, so a machine that drifts favours neither side.
#
# SQLite: the seeded file is generated once (python3's sqlite3 module,
# after `switchboard migrate`) into CACHE (default
# ~/.cache/switchboard-purge-bench, ~3.7 GB for 1,000,000 calls; named
# after the migrations and this generator, so a schema change makes a new
# one) and copied for each pass, then `sync`ed so the copy's writeback
# does not land inside the load. PostgreSQL (`--backend postgres`): the
# seed database `purge_bench_seed` is generated through PG_ADMIN (default
# postgres://postgres@127.0.0.1:5432/postgres, a user who may CREATE
# DATABASE) with generate_series, each pass gets `CREATE DATABASE ...
# TEMPLATE purge_bench_seed STRATEGY FILE_COPY`, and every database made
# is dropped at the end (KEEP_SEED=1 keeps the seed for the next run).
#
# The server runs on core 0 and the load generator on core 1 (taskset),
# so run it on an otherwise idle 2-core machine; PostgreSQL's processes
# are not pinned. Everything listens on 127.0.0.1 only. Needs: a Rust
# toolchain, taskset (util-linux), python3, and psql for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

backend=sqlite
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend="${2:?--backend needs sqlite or postgres}"; shift 2 ;;
    --backend=*) backend="${1#--backend=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
case "$backend" in
  sqlite | postgres) ;;
  *) echo "--backend is sqlite or postgres, not $backend" >&2; exit 2 ;;
esac
passes="${args[0]:-3}"
seconds="${args[1]:-30}"
rate="${RATE:-2000}"
old_calls="${OLD_CALLS:-1000000}"
purge_wait="${PURGE_WAIT:-1800}"
cache="${CACHE:-$HOME/.cache/switchboard-purge-bench}"
admin="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}"
token=12345
port=18480
concurrency=1024
connections=64
# The demo's calls average ~7.8 callbacks each (loadtest's default seed).
calls=$((rate * seconds * 10 / 78))

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "something already listens on 127.0.0.1:$port: stop it first" >&2
  exit 1
fi
if [ "$backend" = postgres ] && ! psql "$admin" -qAtc 'SELECT 1' >/dev/null; then
  echo "cannot reach PostgreSQL through PG_ADMIN=$admin" >&2
  exit 1
fi

cargo build --release --quiet --bins
bin="${CARGO_TARGET_DIR:-target}/release"
work="$(mktemp -d)"
pids=()
dbs=()
seed_db=purge_bench_seed
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$backend" = postgres ]; then
    for d in "${dbs[@]}"; do
      psql "$admin" -qAtc "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
    if [ "${KEEP_SEED:-0}" != 1 ]; then
      psql "$admin" -qAtc "DROP DATABASE IF EXISTS $seed_db WITH (FORCE)" >/dev/null 2>&1 || true
    fi
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

pg_url() { # database
  python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$admin" "$1"
}

# The old calls, as SQL for BACKEND (sqlite: executed here on FILE;
# postgres: printed for psql). Steps as the server writes them: the
# language menu, the main menu (odd ids only), the end.
generator=$(cat <<'PY'
import sqlite3, sys, time
backend, calls, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pg = backend == "postgres"
STATE = '{"call_id":"@SID","version":"86281b41e563","caller":"@CALLER","called":"+18005550100","flow":3,"language":"en-US","at":14,"wait":"@WAIT","step":@STEP,"attempts":0,"vars":{},"returns":[],"menus":[{"menu":14,"returns":[]}],"tried":[],"history":[],"outcome":@OUTCOME}'
EV1 = '[{"node":null,"type":"started","flow":"main"},{"node":"main.welcome","type":"entered"},{"node":"main.welcome","type":"heard","said":"[audio en-US/greeting.wav]"},{"node":"main.welcome","type":"took","exit":"next"},{"node":"main.language","type":"entered"},{"node":"main.language","type":"heard","said":"[audio language_menu.wav]"}]'
EV2 = '[{"node":"main.language","type":"keys","digits":"1"},{"node":"main.language","type":"took","exit":"1"},{"node":"main.menu","type":"entered"},{"node":"main.menu","type":"heard","said":"[audio en-US/main_menu.wav]"}]'
EVEND = '[{"node":"after_hours.voicemail","type":"voicemail","group":"general","url":"https://example.invalid/r","seconds":12},{"node":"after_hours.voicemail","type":"took","exit":"next"},{"node":"after_hours.goodbye","type":"entered"},{"node":"after_hours.goodbye","type":"heard","said":"Thank you for calling Acme. Goodbye."},{"node":"after_hours.goodbye","type":"ended","outcome":{"Voicemail":0}},{"node":"after_hours.goodbye","type":"result","result":"call: completed"}]'
R1 = '<?xml version="1.0" encoding="UTF-8"?><Response><Play>https://ivr.example.com/recordings/en-US/greeting.wav</Play><Gather input="dtmf speech" action="https://ivr.example.com/twilio/step?call=@SID&amp;s=1" method="POST" timeout="4" finishOnKey="" numDigits="1" speechTimeout="auto" language="en-US" hints="中文, chinese"><Play>https://ivr.example.com/recordings/language_menu.wav</Play></Gather><Redirect method="POST">https://ivr.example.com/twilio/step?call=@SID&amp;s=1&amp;ev=noinput</Redirect></Response>'
R2 = '<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="dtmf speech" action="https://ivr.example.com/twilio/step?call=@SID&amp;s=2" method="POST" timeout="5" finishOnKey="" numDigits="1" speechTimeout="auto" language="en-US" hints="billing, support"><Play>https://ivr.example.com/recordings/en-US/main_menu.wav</Play></Gather><Redirect method="POST">https://ivr.example.com/twilio/step?call=@SID&amp;s=2&amp;ev=noinput</Redirect></Response>'
REND = '<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="Polly.Joanna" language="en-US">Thank you for calling Acme. Goodbye.</Say><Hangup/></Response>'
def q(s): return "'" + s.replace("'", "''") + "'"
def js(e): return e + "::jsonb" if pg else e
def state(wait, step, outcome):
    s = STATE.replace("@WAIT", wait).replace("@STEP", str(step)).replace("@OUTCOME", outcome)
    return js("replace(replace(%s, '@SID', c.call_sid), '@CALLER', c.caller)" % q(s))
def sid(t): return "replace(%s, '@SID', c.call_sid)" % q(t)
if pg:
    numbers = f"generate_series(1, {calls}) AS n(i)"
    call_sid = "'CA' || md5(random()::text || i::text)"
    caller = "'+1555' || lpad(floor(random() * 10000000)::bigint::text, 7, '0')"
    ids = ""
else:
    numbers = f"(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {calls}) SELECT i FROM n) AS n"
    call_sid = "'CA' || lower(hex(randomblob(16)))"
    caller = "'+1555' || printf('%07d', abs(random()) % 10000000)"
    ids = "id, "
sql = [f"""INSERT INTO calls ({ids}call_sid, flow, version, caller, called, started_at, node, updated_at, ended_at, final_status, outcome, outcome_group)
SELECT {"i, " if ids else ""}{call_sid}, 'main', '86281b41e563', {caller}, '+18005550100', {base} + i * 800,
  'after_hours.goodbye', {base} + i * 800 + 16000, {base} + i * 800 + 15000, 'completed',
  CASE i % 4 WHEN 0 THEN 'voicemail:general' WHEN 1 THEN 'callback:general' WHEN 2 THEN 'hangup' ELSE 'abandoned' END,
  'general' FROM {numbers} ORDER BY i""",
f"""INSERT INTO steps (call_id, step, at, node, wait, state, response, events)
SELECT c.id, k.j, c.started_at + k.j * 5000,
  CASE WHEN k.j = 1 THEN 'main.language' WHEN k.j = 2 + c.id % 2 THEN 'after_hours.goodbye' ELSE 'main.menu' END,
  CASE WHEN k.j = 2 + c.id % 2 THEN 'Ended' ELSE 'Choice' END,
  CASE WHEN k.j = 1 THEN {state('Choice', 1, 'null')}
       WHEN k.j = 2 + c.id % 2 THEN {state('Ended', 3, '{"Voicemail":0}')}
       ELSE {state('Choice', 2, 'null')} END,
  CASE WHEN k.j = 1 THEN {sid(R1)} WHEN k.j = 2 + c.id % 2 THEN {q(REND)} ELSE {sid(R2)} END,
  CASE WHEN k.j = 1 THEN {js(q(EV1))} WHEN k.j = 2 + c.id % 2 THEN {js(q(EVEND))} ELSE {js(q(EV2))} END
FROM calls c JOIN (SELECT 1 AS j UNION ALL SELECT 2 UNION ALL SELECT 3) AS k ON k.j <= 2 + c.id % 2 ORDER BY c.id, k.j""",
"""INSERT INTO voicemails (call_sid, grp, url, seconds, at)
SELECT call_sid, 'general', 'https://example.invalid/r', 12, ended_at FROM calls WHERE id % 10 = 0 ORDER BY id""",
"""INSERT INTO callbacks (call_sid, grp, number, at, done)
SELECT call_sid, 'general', caller, ended_at, 1 FROM calls WHERE id % 20 = 1 ORDER BY id""",
"""INSERT INTO surveys (call_sid, node, grp, rating, scale, at)
SELECT call_sid, 'csat.rate', NULL, 1 + id % 5, 5, ended_at FROM calls WHERE id % 25 = 2 ORDER BY id"""]
if pg:
    print("\\set ON_ERROR_STOP on\nBEGIN;")
    for s in sql: print(s + ";")
    print("COMMIT;\nVACUUM ANALYZE;")
    sys.exit(0)
t0 = time.time()
db = sqlite3.connect(sys.argv[4], isolation_level=None)
for p in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000", "temp_store=MEMORY"):
    db.execute("PRAGMA " + p)
db.execute("BEGIN")
for s in sql: db.execute(s)
db.execute("COMMIT")
db.execute("PRAGMA journal_mode=WAL")
db.execute("ANALYZE")
db.close()
print(f"generated in {time.time() - t0:.0f} s", file=sys.stderr)
PY
)
key=$( (cat "migrations/$backend"/*.sql; echo "$generator") | sha256sum | cut -c1-12)
base=$(($(date +%s%3N) - 365 * 86400000))

# Rows per table of a database: "calls steps voicemails callbacks surveys".
counts_sql="SELECT (SELECT COUNT(*) FROM calls), (SELECT COUNT(*) FROM steps), (SELECT COUNT(*) FROM voicemails), (SELECT COUNT(*) FROM callbacks), (SELECT COUNT(*) FROM surveys)"

if [ "$backend" = sqlite ]; then
  mkdir -p "$cache"
  seed="$cache/seed-$key-$old_calls.db"
  if [ ! -f "$seed" ]; then
    echo "generating $old_calls old calls into $seed (once)" >&2
    rm -f "$seed.tmp"*
    "$bin/switchboard" migrate --database "sqlite://$seed.tmp" >/dev/null
    python3 -c "$generator" sqlite "$old_calls" "$base" "$seed.tmp"
    mv "$seed.tmp" "$seed"
  fi
  seed_rows=$(python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(" ".join(str(v) for v in db.execute(sys.argv[2]).fetchone()))' "$seed" "$counts_sql")
  seed_size=$(du -m "$seed" | cut -f1)
else
  if [ -z "$(psql "$admin" -qAtc "SELECT 1 FROM pg_database WHERE datname = '$seed_db'")" ] ||
    [ "$(psql "$(pg_url "$seed_db")" -qAtc "SELECT COALESCE(obj_description('calls'::regclass, 'pg_class'), '')" 2>/dev/null)" != "$key-$old_calls" ]; then
    echo "generating $old_calls old calls into the database $seed_db" >&2
    psql "$admin" -qAtc "DROP DATABASE IF EXISTS $seed_db WITH (FORCE)" >/dev/null
    psql "$admin" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $seed_db" >/dev/null
    "$bin/switchboard" migrate --database "$(pg_url "$seed_db")" >/dev/null
    t0=$(date +%s)
    python3 -c "$generator" postgres "$old_calls" "$base" | psql -q "$(pg_url "$seed_db")" >/dev/null
    psql "$(pg_url "$seed_db")" -qAtc "COMMENT ON TABLE calls IS '$key-$old_calls'" >/dev/null
    echo "generated in $(($(date +%s) - t0)) s" >&2
  fi
  seed_rows=$(psql "$(pg_url "$seed_db")" -qAt -F ' ' -c "$counts_sql")
  seed_size=$(psql "$admin" -qAtc "SELECT pg_database_size('$seed_db') / 1048576")
fi

wait_for() { # port pid log
  for _ in $(seq 1 400); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then
      echo "the server exited before listening; its log:" >&2
      cat "$3" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1; see $3" >&2
  KEEP=1
  return 1
}

# A fresh copy of the seed for one pass: sets db_url.
fresh_db() { # pass side
  if [ "$backend" = sqlite ]; then
    rm -f "$work"/pass.db*
    cp "$seed" "$work/pass.db"
    sync
    db_url="sqlite://$work/pass.db"
  else
    db_name="purge_bench_$$_$1_$2"
    psql "$admin" -qAt -v ON_ERROR_STOP=1 \
      -c "CREATE DATABASE \"$db_name\" TEMPLATE $seed_db STRATEGY FILE_COPY" >/dev/null
    dbs+=("$db_name")
    psql "$admin" -qAtc CHECKPOINT >/dev/null
    db_url=$(pg_url "$db_name")
  fi
}

drop_db() {
  if [ "$backend" = sqlite ]; then
    rm -f "$work"/pass.db*
  else
    psql "$admin" -qAt -v ON_ERROR_STOP=1 -c "DROP DATABASE \"$db_name\" WITH (FORCE)" >/dev/null
  fi
}

# Old calls still in the pass's database (started a day before the server).
old_calls_left() { # server start ms
  if [ "$backend" = sqlite ]; then
    python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute("SELECT COUNT(*) FROM calls WHERE started_at < ?", (int(sys.argv[2]),)).fetchone()[0])' \
      "$work/pass.db" "$(($1 - 86400000))"
  else
    psql "$db_url" -qAtc "SELECT COUNT(*) FROM calls WHERE started_at < $(($1 - 86400000))"
  fi
}

# One pass, run in this shell (so cleanup knows its server and database):
# writes its results as one JSON line to $work/pass.json.
run_pass() { # pass side(purge|none)
  local pass=$1 side=$2 retention=() rc=0
  fresh_db "$pass" "$side"
  if [ "$side" = purge ]; then retention=(--retention 1d); fi
  local log="$work/serve-$pass-$side.log"
  local started_ms
  started_ms=$(date +%s%3N)
  TWILIO_AUTH_TOKEN=$token SWITCHBOARD_LOG=info taskset -c 0 "$bin/switchboard" serve \
    --listen "127.0.0.1:$port" --database "$db_url" "${retention[@]}" >"$log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_for "$port" "$pid" "$log"
  local load_start_ms load_end_ms
  load_start_ms=$(date +%s%3N)
  TWILIO_AUTH_TOKEN=$token taskset -c 1 "$bin/switchboard" loadtest \
    --target "http://127.0.0.1:$port" --calls "$calls" --concurrency "$concurrency" \
    --connections "$connections" --rate "$rate" --database "$db_url" --format json \
    >"$work/report.json" 2>"$work/loadtest.err" || rc=$?
  load_end_ms=$(date +%s%3N)
  if [ "$rc" -gt 1 ] || [ ! -s "$work/report.json" ]; then
    echo "loadtest failed:" >&2
    cat "$work/loadtest.err" >&2
    KEEP=1
    return 1
  fi
  local left left_at_load_end waited=no
  left_at_load_end=$(old_calls_left "$started_ms")
  if [ "$side" = purge ] && [ "$pass" = 1 ]; then
    local tenths=0
    waited=yes
    while ! grep -q -e "purged the calls past their retention period" \
      -e "could not purge" "$log" && [ "$tenths" -lt "$((purge_wait * 10))" ]; do
      sleep 0.1
      tenths=$((tenths + 1))
    done
  fi
  left=$(old_calls_left "$started_ms")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pids=()
  drop_db
  python3 - "$work/report.json" "$log" "$side" "$started_ms" "$load_start_ms" "$load_end_ms" "$left" "$left_at_load_end" "$old_calls" "$waited" >"$work/pass.json" <<'PY'
import collections, datetime, json, re, sys
report, log, side, started, load_start, load_end, left, left_at_end, seeded, waited = sys.argv[1:]
started, load_start, load_end, left = int(started), int(load_start), int(load_end), int(left)
left_at_end, seeded = int(left_at_end), int(seeded)
r = json.load(open(report))
purge = "-"
warnings = collections.Counter()
for line in open(log, errors="replace"):
    m = re.match(r"(\S+Z)\s+(WARN|ERROR)\s+(\S+): (.*)", line)
    if m:
        text = m.group(4)
        if "database is locked" in text: kind = "database is locked"
        elif "slow statement" in text:
            s = re.search(r'summary="([^"]*)"', text)
            kind = "slow statement " + (s.group(1)[:40] if s else "")
        else: kind = text[:60]
        warnings[f"{m.group(2)} {kind}"] += 1
    if side == "purge" and "purged the calls past their retention period" in line:
        at = datetime.datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))
        done = at.timestamp() * 1000
        calls = re.search(r"calls=(\d+)", line).group(1)
        overlap = "still running when the load ended" if done > load_end else \
            f"ENDED {(load_end - done) / 1000:.1f} s BEFORE THE LOAD DID"
        purge = f"{calls} calls in {(done - started) / 1000:.1f} s, {overlap}"
during = (f"{seeded - left_at_end} calls purged by the load's end "
    f"({(seeded - left_at_end) / ((load_end - started) / 1000):.0f}/s)")
if side == "purge" and purge == "-" and waited == "no":
    purge = f"{during}, not waited for"
elif side == "purge" and purge == "-":
    purge = f"NOT DONE after the wait: {left} old calls left"
elif side == "purge":
    purge = f"{during}; all {purge}"
elif side == "none":
    purge = f"none ({left} old calls kept)"
warn = ", ".join(f"{k} ×{v}" for k, v in warnings.most_common()) or "none"
print(json.dumps({"per_second": r["per_second"], "p50": r["p50_ms"], "p99": r["p99_ms"],
    "max": r["max_ms"], "errors": r.get("errors", 0), "late": r.get("late", 0),
    "requests": r.get("requests", 0), "complete": r.get("complete_event_logs", "n/a"),
    "calls": r.get("calls", 0), "load_s": (load_end - load_start) / 1000, "purge": purge, "warnings": warn}))
PY
}

echo "date      $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine   $(nproc) cores, $(uname -r), $(git describe --always --dirty --abbrev=7)"
echo "backend   $backend; seed $seed_rows (calls steps voicemails callbacks surveys), $seed_size MB"
echo "load      --rate $rate, $calls calls (~${seconds} s), $concurrency callers over $connections connections; server on core 0, loadtest on core 1"
echo
printf '%-5s %-9s %-8s %-8s %-8s %-9s %-11s %s\n' pass side "cb/s" "p50 ms" "p99 ms" "max ms" "errors/late" purge
results="$work/results.jsonl"
for i in $(seq 1 "$passes"); do
  if [ $((i % 2)) -eq 1 ]; then order=(none purge); else order=(purge none); fi
  for side in "${order[@]}"; do
    run_pass "$i" "$side"
    line=$(cat "$work/pass.json")
    echo "{\"pass\": $i, \"side\": \"$side\", \"r\": $line}" >>"$results"
    python3 - "$line" "$i" "$side" <<'PY'
import json, sys
r, i, side = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
print(f"{i:<5} {('purge' if side == 'purge' else 'no purge'):<9} {r['per_second']:<8.0f} {r['p50']:<8.2f} {r['p99']:<8.2f} {r['max']:<9.1f} {str(r['errors']) + '/' + str(r['late']):<11} {r['purge']}")
print(f"{'':<5} {'':<9} load {r['load_s']:.1f} s, {r['requests']} requests, {r['complete']}/{r['calls']} logs complete; server warnings: {r['warnings']}")
PY
  done
done
echo
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for row in rows:
    by.setdefault(row["pass"], {})[row["side"]] = row["r"]
print(f"{'pass':<5} {'p50 purge/none':<16} {'p99 purge/none':<16} {'p99 none → purge ms'}")
r50, r99 = [], []
for p in sorted(by):
    n, g = by[p]["none"], by[p]["purge"]
    a, b = g["p50"] / n["p50"], g["p99"] / n["p99"]
    r50.append(a); r99.append(b)
    print(f"{p:<5} {a:<16.2f} {b:<16.2f} {n['p99']:.2f} → {g['p99']:.2f}")
def span(r): return f"{min(r):.2f}–{max(r):.2f}× (median {statistics.median(r):.2f}×)"
print()
print(f"p99 purge/no-purge: {span(r99)} over {len(r99)} pairs")
print(f"p50 purge/no-purge: {span(r50)}")
PY
