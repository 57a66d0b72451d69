#!/usr/bin/env python3
"""Write docs/grafana-dashboard.json: a Grafana dashboard on Switchboard's
Prometheus metrics (src/server/metrics.rs). Run from the repository root
after changing a panel; `cargo test` checks that every metric the dashboard
queries is one the server exports."""

import json

DS = {"type": "prometheus", "uid": "${datasource}"}

panels = []


def panel(title, exprs, unit="short", kind="timeseries", w=12, h=8, desc=""):
    i = len(panels)
    targets = [
        {"datasource": DS, "expr": e, "legendFormat": legend, "refId": chr(65 + n)}
        for n, (e, legend) in enumerate(exprs)
    ]
    panels.append(
        {
            "id": i + 1,
            "type": kind,
            "title": title,
            "description": desc,
            "datasource": DS,
            "gridPos": {"x": (i % 2) * 12 if w == 12 else 0, "y": (i // 2) * h, "w": w, "h": h},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "bottom"}},
            "targets": targets,
        }
    )


panel(
    "Callbacks by route and result",
    [("sum by (provider, route, result) (rate(switchboard_callbacks_total[$__rate_interval]))", "{{provider}} {{route}} {{result}}")],
    unit="reqps",
    desc="Every provider request; `apology` means a caller got the fallback route.",
)
panel(
    "Callback latency",
    [
        ("histogram_quantile(0.5, sum by (le, route) (rate(switchboard_request_duration_seconds_bucket[$__rate_interval])))", "p50 {{route}}"),
        ("histogram_quantile(0.99, sum by (le, route) (rate(switchboard_request_duration_seconds_bucket[$__rate_interval])))", "p99 {{route}}"),
    ],
    unit="s",
)
panel(
    "Apologies and signature failures",
    [
        ("sum(rate(switchboard_callbacks_total{result=\"apology\"}[$__rate_interval]))", "apologies (fallback route)"),
        ("sum by (provider) (rate(switchboard_signature_failures_total[$__rate_interval]))", "bad signatures {{provider}}"),
    ],
    unit="reqps",
)
panel(
    "Store commits",
    [
        ("histogram_quantile(0.99, sum by (le, backend) (rate(switchboard_store_commit_duration_seconds_bucket[$__rate_interval])))", "p99 commit {{backend}}"),
        ("sum by (backend) (rate(switchboard_store_batch_size_sum[$__rate_interval])) / sum by (backend) (rate(switchboard_store_batch_size_count[$__rate_interval]))", "commits per batch {{backend}}"),
    ],
    unit="s",
)
panel(
    "Live calls by flow",
    [("sum by (flow) (switchboard_live_calls)", "{{flow}}")],
)
panel(
    "Nodes holding the most callers",
    [("topk(10, sum by (node) (switchboard_live_calls))", "{{node}}")],
    kind="bargauge",
)
panel(
    "Queue entries and abandons by group",
    [
        ("sum by (group) (rate(switchboard_queue_entries_total[$__rate_interval]))", "joined {{group}}"),
        ("sum by (group) (rate(switchboard_queue_abandons_total[$__rate_interval]))", "abandoned {{group}}"),
    ],
    unit="reqps",
)
panel(
    "Queue wait (p90) by group",
    [("histogram_quantile(0.9, sum by (le, group) (rate(switchboard_queue_wait_seconds_bucket[$__rate_interval])))", "{{group}}")],
    unit="s",
)
panel(
    "Answered within 20 s",
    [("sum by (group) (rate(switchboard_queue_wait_seconds_bucket{result=\"answered\",le=\"20\"}[$__rate_interval])) / sum by (group) (rate(switchboard_queue_wait_seconds_count{result=\"answered\"}[$__rate_interval]))", "{{group}}")],
    unit="percentunit",
)
panel(
    "Calls started and ended",
    [
        ("sum by (flow) (rate(switchboard_calls_started_total[$__rate_interval]))", "started {{flow}}"),
        ("sum by (class) (rate(switchboard_calls_ended_total[$__rate_interval]))", "ended {{class}}"),
    ],
    unit="reqps",
)
panel(
    "Reloads",
    [("sum by (result) (increase(switchboard_reloads_total[$__range]))", "{{result}}")],
    kind="stat",
)
panel(
    "Version serving new calls",
    [("max by (version) (switchboard_flow_version) == 1", "{{version}}")],
    kind="stat",
)

dashboard = {
    "title": "Switchboard",
    "uid": "switchboard",
    "description": "Callbacks, store, live calls, queues and reloads of Switchboard instances (docs/metrics.md).",
    "schemaVersion": 39,
    "version": 1,
    "editable": True,
    "time": {"from": "now-6h", "to": "now"},
    "refresh": "30s",
    "tags": ["switchboard", "ivr"],
    "templating": {
        "list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}
        ]
    },
    "panels": panels,
}

with open("docs/grafana-dashboard.json", "w") as f:
    json.dump(dashboard, f, indent=2, ensure_ascii=False)
    f.write("\n")
