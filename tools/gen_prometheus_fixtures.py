#!/usr/bin/env python3
"""Writes the OpenMetrics fixtures of tests/slo_prometheus.rs (tests/fixtures/prometheus/).

    tools/gen_prometheus_fixtures.py tests/fixtures/prometheus

Every series is a counter growing by a fixed amount per step, so that each SLI is an exact
ratio (the figures are in tests/fixtures/prometheus/README.md). T0 is the evaluation time
of the tests: 2026-01-01T00:00:00Z.
"""
import os
import sys

T0 = 1767225600
BUCKETS = ["0.1", "0.3", "1", "+Inf"]


def counter_family(series, times):
    """series: list of (labels, increment per step)."""
    out = ["# TYPE http_requests counter", "# HELP http_requests Requests served."]
    for labels, step in series:
        for i, t in enumerate(times):
            out.append("http_requests_total{%s} %d %d" % (labels, i * step, t))
    return out


def histogram_family(series, times):
    """series: list of (labels, {bucket: increment per step}, total per step)."""
    out = [
        "# TYPE http_request_duration_seconds histogram",
        "# HELP http_request_duration_seconds Time to serve a request.",
    ]
    for labels, buckets, total in series:
        for i, t in enumerate(times):
            for le in BUCKETS:
                out.append('http_request_duration_seconds_bucket{%s,le="%s"} %d %d' % (labels, le, i * buckets[le], t))
            out.append("http_request_duration_seconds_count{%s} %d %d" % (labels, i * total, t))
            out.append("http_request_duration_seconds_sum{%s} %.1f %d" % (labels, i * total * 0.05, t))
    return out


def service(labels, times, total, errors, fast):
    """One service's series: `total` requests per step, `errors` of them 5xx, `fast`
    within 0.3 s."""
    counters = counter_family(
        [('code="200",%s' % labels, total - errors), ('code="500",%s' % labels, errors)], times
    )
    histogram = histogram_family(
        [(labels, {"0.1": fast * 6 // 10, "0.3": fast, "1": total - 1, "+Inf": total}, total)], times
    )
    return counters + histogram + ["# EOF"]


def write(directory, name, lines):
    with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main():
    directory = sys.argv[1]
    # Previews: every 15 s from T0 - 5m to T0 + 5m, 2000 requests per step.
    preview = [T0 - 300 + 15 * i for i in range(41)]
    pod = 'namespace="sample",service="sample",rollouts_pod_template_hash="%s"'
    write(directory, "preview-healthy.om", service(pod % "6c9f7b5d4f", preview, 2000, 1, 1990))
    write(directory, "preview-availability-broken.om", service(pod % "7d8b9c6f5a", preview, 2000, 10, 1990))
    write(directory, "preview-latency-broken.om", service(pod % "5f4d3c2b1a", preview, 2000, 1, 1900))
    # Error budgets: weekly over the 28 days up to T0 (promtool 2.42 writes one 2-hour block
    # per step, so few steps keep the test fast), 600000 requests per step.
    window = [T0 - 28 * 86400 + 7 * 86400 * i for i in range(5)]
    app = 'namespace="%s",service="shop",rollouts_pod_template_hash="8a7b6c5d4e"'
    write(directory, "budget-healthy.om", service(app % "shop-healthy", window, 600000, 120, 597000))
    write(directory, "budget-spent.om", service(app % "shop-spent", window, 600000, 900, 597000))


if __name__ == "__main__":
    main()
