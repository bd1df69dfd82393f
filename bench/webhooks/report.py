"""The webhook benchmark's verdict: tables, ratios to the floor, targets with PASS/FAIL, and the JSON result."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from bench.support import Machine, table, verdict
from bench.webhooks.load import Phase
from bench.webhooks.runner import WEB_WORKERS, Measured, Options
from bench.webhooks.traffic import MIX_SUMMARY

MIN_THROUGHPUT_RATIO = 0.5
MAX_P99_MS = 200.0


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    limit: str
    passed: bool


def targets(options: Options, floor: Measured, lux: Measured) -> list[Target]:
    ratio = _ratio(lux.saturation.throughput, floor.saturation.throughput)
    errors = lux.offered.errors + lux.saturation.errors
    return [
        Target(
            "saturation throughput, LuxServ / floor",
            f"{ratio:.3f}",
            f">= {MIN_THROUGHPUT_RATIO:.2f}",
            ratio >= MIN_THROUGHPUT_RATIO,
        ),
        Target(
            f"p99 ack latency at {options.rate:g} req/s",
            f"{lux.offered.p99_ms:.0f} ms",
            f"<= {MAX_P99_MS:.0f} ms",
            lux.offered.p99_ms <= MAX_P99_MS,
        ),
        Target("errors (non-2xx or no answer), both phases", str(errors), "0", errors == 0),
        Target("oracle: acknowledged bookings exactly once", "see below", "all", lux.check_passed),
    ]


def render(options: Options, machine: Machine, floor: Measured, lux: Measured) -> str:
    workers = WEB_WORKERS[options.db]
    layout = (
        "`luxserv serve`, worker in-process"
        if options.db == "sqlite"
        else f"`luxserv serve --workers {workers}` (LUXSERV_WORKER_IN_PROCESS=false) + one `luxserv worker`"
    )
    lines = [
        f"Webhooks on {'SQLite' if options.db == 'sqlite' else 'PostgreSQL'}: {layout}; "
        f"floor = bench/webhooks/floor.py under uvicorn with {workers} worker(s)",
        f"machine: {machine.line()}",
        f"traffic: {MIX_SUMMARY}",
        "",
        f"Offered load: {options.rate:g} req/s for {options.seconds:g} s (open loop; latency from the scheduled send)",
        _phase_table(floor.offered, lux.offered),
        "",
        f"Saturation: {options.senders} senders for {options.seconds:g} s (closed loop)",
        _phase_table(floor.saturation, lux.saturation),
        "",
        table(
            ["target", "measured", "limit", "result"],
            [[t.name, t.measured, t.limit, verdict(t.passed)] for t in targets(options, floor, lux)],
        ),
        "",
        f"oracle, LuxServ: {verdict(lux.check_passed)}  {lux.check_summary}",
        f"oracle, floor:   {verdict(floor.check_passed)}  {floor.check_summary}",
    ]
    for measured in (floor, lux):
        for phase in (measured.offered, measured.saturation):
            for example in phase.error_examples:
                lines.append(f"error, {phase.name}: {example}")
    wrong = lux.check.get("wrong_state") or []
    lines += [f"wrong state: {line}" for line in list(wrong)[:5]]
    return "\n".join(lines)


def _phase_table(floor: Phase, lux: Phase) -> str:
    headers = [
        *("server", "acked/s", "p50 ms", "p99 ms", "max ms", "errors", "202s"),
        *("server CPU ms/req", "sender CPU", "sender lag p99"),
    ]

    def row(name: str, p: Phase) -> list[str]:
        return [
            name,
            f"{p.throughput:.1f}",
            f"{p.p50_ms:.1f}",
            f"{p.p99_ms:.1f}",
            f"{p.max_ms:.0f}",
            str(p.errors),
            str(p.accepted_for_retry),
            f"{p.server_cpu_ms_per_request:.1f}",
            f"{p.client_cpu_ms_per_request:.1f}",
            f"{p.p99_lag_ms:.1f}",
        ]

    ratios = [
        "LuxServ / floor",
        f"{_ratio(lux.throughput, floor.throughput):.2f}",
        f"{_ratio(lux.p50_ms, floor.p50_ms):.1f}x",
        f"{_ratio(lux.p99_ms, floor.p99_ms):.1f}x",
        "",
        "",
        "",
        f"{_ratio(lux.server_cpu_ms_per_request, floor.server_cpu_ms_per_request):.1f}x",
        "",
        "",
    ]
    return table(headers, [row("floor", floor), row("LuxServ", lux), ratios])


def as_json(options: Options, machine: Machine, floor: Measured, lux: Measured, load_after: Any) -> dict[str, Any]:
    found = targets(options, floor, lux)
    return {
        "benchmark": "webhooks",
        "database": options.db,
        "machine": machine.as_dict(),
        "load_average_after": load_after,
        "options": {k: (str(v) if k == "results_dir" else v) for k, v in asdict(options).items()},
        "web_workers": WEB_WORKERS[options.db],
        "results": {m.name: {"offered": asdict(m.offered), "saturation": asdict(m.saturation)} for m in (floor, lux)},
        "ratios": {
            "saturation_throughput": _ratio(lux.saturation.throughput, floor.saturation.throughput),
            "offered_p99": _ratio(lux.offered.p99_ms, floor.offered.p99_ms),
            "server_cpu_per_request": _ratio(
                lux.saturation.server_cpu_ms_per_request, floor.saturation.server_cpu_ms_per_request
            ),
        },
        "targets": [asdict(t) for t in found],
        "oracle": {"luxserv": lux.check, "floor": floor.check},
        "passed": all(t.passed for t in found) and floor.check_passed,
    }


def _ratio(value: float, baseline: float) -> float:
    if not baseline or math.isnan(baseline) or math.isnan(value):
        return math.nan
    return value / baseline
