#!/usr/bin/env bash
# How long `switchboard report` takes on a year of calls: seeds one SQLite
# database with CALLS calls (default 1,000,000) spread over the last 365
# days with what reports read (each call's class, group and kind, its queue
# waits with overflows and tier escalations, self-service answers heard,
# survey answers, callers from a pool of numbers who call again, and the
# funnel's hourly rollup; no `steps` rows, which no report reads), then times
# RUNS runs (default 5) of the whole report, text and JSON alternating,
# and a one-week report, and prints each run's wall time and the median.
#
#   bash scripts/report-bench.sh [RUNS]
#   CALLS=1000000 CACHE=~/.cache/switchboard-report-bench bash scripts/report-bench.sh 5
#
# The seed is generated once (python3's sqlite3, after `switchboard
# migrate`) into CACHE, named after the migrations and this generator.
# Timings are with the file in the page cache, as on a machine that runs
# reports routinely. Needs a Rust toolchain and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
calls="${CALLS:-1000000}"
cache="${CACHE:-$HOME/.cache/switchboard-report-bench}"

cargo build --release --quiet --bins
bin="${CARGO_TARGET_DIR:-target}/release/switchboard"

generator=$(cat <<'PY'
import random, sqlite3, sys, time
path, calls, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(7)
groups = [("orders", "service", None), ("billing", "service", None), ("returns", "service", None),
          ("general", "service", None), ("support_tier1", "support", 1), ("support_tier2", "support", 2)]
classes = ["agent"] * 55 + ["queue-abandon"] * 8 + ["voicemail"] * 5 + ["callback"] * 5 + \
    ["self-service"] * 12 + ["ended"] * 5 + ["menu-hangup"] * 9 + ["failure"] * 1
topics = ["hub setup", "power and Wi-Fi", "app problems"]
t0 = time.time()
db = sqlite3.connect(path, isolation_level=None)
for p in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000"):
    db.execute("PRAGMA " + p)
db.execute("BEGIN")
year = 365 * 86400000
cs, ws, ts, ss = [], [], [], []
last, again = {}, []
for i in range(1, calls + 1):
    start = now - year + (year * i) // calls
    cls = rnd.choice(classes)
    g, kind, tier = rnd.choice(groups)
    queued = cls in ("agent", "queue-abandon", "voicemail", "callback")
    grp = g if queued else None
    caller = "anonymous" if rnd.random() < 0.02 else f"+1555{rnd.randrange(300000):07d}"
    cs.append((i, f"CA{i:032x}", "main", "v1", caller, "+18005550100",
               start, "main.goodbye", start + 240000, start + 240000, "completed",
               cls, grp, kind if queued else None, -1 if grp and caller == "anonymous" else None))
    if grp and caller != "anonymous":
        before = last.get((caller, grp))
        if before:
            again.append((start - before[1], before[0]))
        last[(caller, grp)] = (i, start)
    if queued:
        seq = 1
        if rnd.random() < 0.1 and tier is None:
            ws.append((i, seq, g, kind, None, start + 30000, "timeout", 600, "general"))
            seq += 1
            g, tier = "general", None
        result = {"agent": "answered", "queue-abandon": "abandoned"}.get(cls, "timeout")
        waited = int(rnd.expovariate(1 / 40))
        nxt = "support_tier2" if tier == 1 and result == "answered" and rnd.random() < 0.15 else None
        ws.append((i, seq, g, kind, tier, start + 40000, result, waited, nxt))
        if nxt:
            ws.append((i, seq + 1, nxt, "support", 2, start + 400000, "answered", int(rnd.expovariate(1 / 60)), None))
        if cls == "agent" and rnd.random() < 0.3:
            ss.append((f"CA{i:032x}", "csat.rate", g, rnd.choice([1, 2, 3, 4, 4, 5, 5, 5]), 5, start + 240000))
    if cls == "self-service" or (kind == "support" and rnd.random() < 0.5):
        ts.append((i, 1, rnd.choice(topics), 1 if queued else 0, start + 20000))
    if len(cs) >= 100000 or i == calls:
        db.executemany("INSERT INTO calls (id, call_sid, flow, version, caller, called, started_at, node, updated_at, ended_at, final_status, class, grp, kind, again_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cs)
        db.executemany("INSERT INTO queue_waits (call_id, seq, grp, kind, tier, joined_at, result, waited, next_grp) VALUES (?,?,?,?,?,?,?,?,?)", ws)
        db.executemany("INSERT INTO topics_heard VALUES (?,?,?,?,?)", ts)
        db.executemany("INSERT INTO surveys (call_sid, node, grp, rating, scale, at) VALUES (?,?,?,?,?,?)", ss)
        cs, ws, ts, ss = [], [], [], []
db.executemany("UPDATE calls SET again_ms = ? WHERE id = ?", again)
# The funnel's rollup: each hour of the year, the demo's nodes and what
# callers did there, in proportion to the hour's calls.
funnel = [("main.welcome", [("reached", 1.0)]),
          ("main.language", [("reached", 1.0), ("timeout", 0.04), ("chose:press 1", 0.8), ("chose:press 2", 0.2)]),
          ("main.priority", [("reached", 1.0)]), ("main.hours", [("reached", 0.97)]),
          ("main.menu", [("reached", 0.95), ("timeout", 0.08), ("invalid", 0.05), ("gave-up", 0.01),
                         ("hung-up", 0.04), ("chose:operator", 0.05), ("chose:repeat", 0.03)] +
                        [(f"chose:press {k}: {g}", 0.17) for k, g in
                         enumerate(["orders", "billing", "returns", "account", "support"], 1)]),
          ("service.orders", [("reached", 0.17), ("invalid", 0.01), ("chose:press 1", 0.1), ("chose:press 2", 0.06)]),
          ("service.billing", [("reached", 0.17), ("invalid", 0.03), ("gave-up", 0.005)]),
          ("service.returns", [("reached", 0.17), ("chose:press 1", 0.1), ("chose:press 2", 0.06), ("chose:back", 0.01)]),
          ("support.start", [("reached", 0.2)]),
          ("kb.menu", [("reached", 0.2), ("timeout", 0.02), ("chose:press 1", 0.08), ("chose:press 2", 0.1)]),
          ("support.solved", [("reached", 0.18), ("chose:press 1", 0.1), ("chose:press 2", 0.08), ("hung-up", 0.01)]),
          ("support.tier1", [("reached", 0.12), ("hung-up", 0.01)]),
          ("support.tier2", [("reached", 0.02)]),
          ("service.billing_queue", [("reached", 0.17), ("hung-up", 0.02)]),
          ("csat.rate", [("reached", 0.5), ("timeout", 0.2), ("invalid", 0.01)])]
per_hour = calls / (365 * 24)
rows = []
first_hour = (now - year) // 3600000 * 3600000
for h in range(365 * 24):
    hour = first_hour + h * 3600000
    for node, whats in funnel:
        for what, share in whats:
            n = int(per_hour * share * rnd.uniform(0.5, 1.5))
            if n > 0:
                rows.append((hour, node, what, n))
db.executemany("INSERT INTO node_hours VALUES (?,?,?,?)", rows)
db.execute("COMMIT")
db.execute("PRAGMA journal_mode=WAL")
db.execute("ANALYZE")
counts = [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("calls", "queue_waits", "topics_heard", "surveys", "node_hours")]
counts.append(db.execute("SELECT COUNT(*) FROM calls WHERE again_ms >= 0").fetchone()[0])
print(f"generated in {time.time() - t0:.0f} s: calls, queue_waits, topics_heard, surveys, node_hours, called again = {counts}", file=sys.stderr)
PY
)
key=$( (cat migrations/sqlite/*.sql; echo "$generator") | sha256sum | cut -c1-12)
mkdir -p "$cache"
seed="$cache/report-$key-$calls.db"
if [ ! -f "$seed" ]; then
  echo "generating $calls calls into $seed (once)" >&2
  rm -f "$seed.tmp"*
  "$bin" migrate --database "sqlite://$seed.tmp" >/dev/null
  python3 -c "$generator" "$seed.tmp" "$calls" "$(date +%s%3N)"
  mv "$seed.tmp" "$seed"
fi
url="sqlite://$seed"
"$bin" report --database "$url" >/dev/null # into the page cache

echo "date      $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine   $(nproc) cores, $(uname -r), $(git describe --always --dirty --abbrev=7)"
echo "store     $calls calls over 365 days, $(du -m "$seed" | cut -f1) MB"
echo
time_ms() { # args…: prints the run's wall time in ms
  local a b
  a=$(date +%s%N)
  "$bin" "$@" >/dev/null
  b=$(date +%s%N)
  echo $(((b - a) / 1000000))
}
whole=()
week=()
for i in $(seq 1 "$runs"); do
  format=text
  if [ $((i % 2)) -eq 0 ]; then format=json; fi
  ms=$(time_ms report --database "$url" --format "$format")
  whole+=("$ms")
  wk=$(time_ms report --database "$url" --since 7d --format "$format")
  week+=("$wk")
  printf 'run %-3s %-5s whole year %6s ms   last week %6s ms\n' "$i" "$format" "$ms" "$wk"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "whole year: median $(median "${whole[@]}") ms over $runs runs (target: under 2000 ms)"
echo "last week:  median $(median "${week[@]}") ms"
