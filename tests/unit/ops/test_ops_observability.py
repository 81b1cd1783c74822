"""Grafana dashboard and Prometheus rules: well-formed, and only metrics the code defines."""

from __future__ import annotations

import json
import re

import yaml

from .deploy_facts import ROOT

OBS = ROOT / "deploy" / "observability"
METRIC = re.compile(r"\bbf_[a-z_]+\b")


def defined_metrics() -> set[str]:
    names: set[str] = set()
    for path in [*ROOT.glob("services/*/bf_*/**/*.py"), *ROOT.glob("shared/bf_shared/**/*.py")]:
        names |= set(re.findall(r"(?:Counter|Gauge|Histogram|Summary)\(\s*\"(bf_[a-z_]+)\"", path.read_text()))
    return names


def used(expr: str) -> set[str]:
    return {re.sub(r"_(bucket|count|sum)$", "", m) for m in METRIC.findall(expr)}


def rules() -> list[dict]:
    doc = yaml.safe_load((OBS / "alerts.yaml").read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def dashboard_exprs() -> list[str]:
    dash = json.loads((OBS / "grafana-dashboard.json").read_text())
    return [t["expr"] for p in dash["panels"] for t in p["targets"]]


def test_rules_are_complete_alerts() -> None:
    assert len(rules()) >= 10
    for rule in rules():
        assert rule["alert"].startswith("Backfuture") and rule["expr"].strip()
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]
        assert rule["expr"].count("(") == rule["expr"].count(")")


def test_every_metric_in_rules_and_dashboard_exists_in_the_code() -> None:
    defined = defined_metrics()
    assert {"bf_events_consumed_total", "bf_tester_tests_total", "bf_connector_exchange_requests_total"} <= defined
    referenced = set().union(*(used(r["expr"]) for r in rules()), *(used(e) for e in dashboard_exprs()))
    assert referenced - defined == set()


def test_the_dashboard_shows_every_metric_the_issue_asks_for() -> None:
    shown = set().union(*(used(e) for e in dashboard_exprs()))
    wanted = {
        "bf_tester_tests_total", "bf_tester_test_duration_seconds", "bf_connector_exchange_requests_total",
        "bf_connector_exchange_request_seconds", "bf_connector_rate_limit_headroom_ratio", "bf_events_consumed_total",
        "bf_events_redelivered_total", "bf_events_failed_total", "bf_runner_strategies_owned",
        "bf_runner_lease_takeovers_total", "bf_runner_order_roundtrip_seconds",
    }
    assert wanted - shown == set()
