#!/usr/bin/env python3
"""Pick a small corpus out of a libFuzzer merge control file: greedy set
cover over the coverage edges (each step takes the input that adds the most
edges not yet covered), stopping at LIMIT inputs or when nothing adds any.
libFuzzer's own merge takes inputs smallest first, which keeps many that
each add an edge or two. Prints the chosen paths and, on stderr, how many
edges they cover of all.

usage: cover.py CONTROL_FILE LIMIT
"""
import sys

control, limit = sys.argv[1], int(sys.argv[2])
lines = open(control, encoding="utf-8", errors="replace").read().splitlines()
n = int(lines[0])
paths = lines[2 : 2 + n]
cov = {}
for line in lines[2 + n :]:
    parts = line.split()
    if parts and parts[0] == "COV":
        cov[int(parts[1])] = set(map(int, parts[2:]))
every = set().union(*cov.values()) if cov else set()
covered, chosen = set(), []
while len(chosen) < limit:
    best = max(cov, key=lambda i: len(cov[i] - covered), default=None)
    if best is None or not cov[best] - covered:
        break
    covered |= cov.pop(best)
    chosen.append(best)
for i in chosen:
    print(paths[i])
print(f"{len(chosen)} inputs cover {len(covered)} of {len(every)} edges", file=sys.stderr)
