"""From per-run measurements to the table, the verdicts and the files CI keeps.

Rounds are combined by median. Differences against ``direct`` and the
gateway ÷ bare CPU ratio are paired within a round (both targets ran back to
back under the same neighbour noise) before taking the median, which is what
makes numbers from a shared 2-core machine comparable at all.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.loadgen import LoadResult

CPU_RATIO_LIMIT = 2.0
CPU_RATIO_AIM = 1.5
STALL_FACTOR = 2.0
# Half a core taken by processes we do not watch: on a 2-core box the cell's latency
# numbers then say as much about the neighbour as about the target.
NOISY_OTHERS_PERCENT = 50.0


@dataclass(frozen=True, order=True)
class Cell:
    delay_ms: int
    concurrency: int

    @property
    def label(self) -> str:
        return f"c={self.concurrency} x {self.delay_ms} ms"


@dataclass
class Run:
    round: int
    cell: Cell
    target: str
    result: LoadResult | None
    failure: str | None = None


@dataclass
class Row:
    cell: Cell
    target: str
    rounds: int
    ok: int
    errors: int
    rps: float | None
    ttft_p50_ms: float | None
    ttft_p99_ms: float | None
    added_ttft_p50_ms: float | None
    added_ttft_p99_ms: float | None
    latency_p50_ms: float | None
    gap_p50_ms: float | None
    gap_p99_ms: float | None
    content_gap_p99_ms: float | None
    done_wait_p99_ms: float | None
    cpu_ms_per_request: float | None
    cpu_resolution_ms: float | None
    cpu_percent: float | None
    rss_mb: float | None
    upstream_cpu_ms_per_request: float | None
    loadgen_cpu_ms_per_request: float | None
    others_percent: float | None


@dataclass
class CpuVerdict:
    cell: Cell
    ratio: float | None
    gateway_ms: float | None
    bare_ms: float | None
    gateway_resolution_ms: float | None
    bare_resolution_ms: float | None
    others_percent: float | None  # the worse of the two runs' neighbour CPU

    @property
    def passed(self) -> bool | None:
        return None if self.ratio is None else self.ratio <= CPU_RATIO_LIMIT


@dataclass
class StallVerdict:
    """Every gap counts, the one before ``[DONE]`` too: a client's stream ends only there."""

    cell: Cell
    limit_ms: float
    gap_p99_ms: dict[str, float | None]  # per target; the verdict is the gateway's
    content_gap_p99_ms: float | None  # the gateway's, without the wait for [DONE]
    done_wait_p99_ms: float | None
    others_percent: float | None

    @property
    def passed(self) -> bool | None:
        gap = self.gap_p99_ms.get("gateway")
        return None if gap is None else gap <= self.limit_ms


@dataclass
class Report:
    meta: dict[str, Any]
    runs: list[Run]
    rows: list[Row]
    cpu_verdicts: list[CpuVerdict]
    stall_verdicts: list[StallVerdict]

    @property
    def failed_runs(self) -> list[Run]:
        return [r for r in self.runs if r.result is None]

    @property
    def verdicts_pass(self) -> bool:
        verdicts: list[bool | None] = [v.passed for v in self.cpu_verdicts]
        verdicts += [v.passed for v in self.stall_verdicts]
        return all(v is True for v in verdicts)


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _paired(
    runs: Sequence[Run],
    cell: Cell,
    a: str,
    b: str,
    combine: Callable[[LoadResult, LoadResult], float | None],
) -> float | None:
    """Median over rounds of ``combine(a's result, b's result)`` from the same round."""
    by_round: dict[tuple[int, str], LoadResult] = {
        (r.round, r.target): r.result for r in runs if r.cell == cell and r.result is not None
    }
    rounds = sorted({rnd for rnd, _ in by_round})
    return _median(
        combine(by_round[(rnd, a)], by_round[(rnd, b)])
        for rnd in rounds
        if (rnd, a) in by_round and (rnd, b) in by_round
    )


def _minus(field: str) -> Callable[[LoadResult, LoadResult], float | None]:
    def combine(x: LoadResult, y: LoadResult) -> float | None:
        vx, vy = getattr(x, field), getattr(y, field)
        return None if vx is None or vy is None else float(vx - vy)

    return combine


def _cpu_ratio(gateway: LoadResult, bare: LoadResult) -> float | None:
    g = gateway.cpu_ms_per_request.get("target")
    b = bare.cpu_ms_per_request.get("target")
    return None if g is None or not b else g / b


def build_report(
    runs: list[Run], cells: Sequence[Cell], targets: Sequence[str], meta: dict[str, Any]
) -> Report:
    rows: list[Row] = []
    for cell in cells:
        for target in targets:
            mine = [r.result for r in runs if r.cell == cell and r.target == target and r.result]
            has_direct = target != "direct" and "direct" in targets
            rows.append(
                Row(
                    cell=cell,
                    target=target,
                    rounds=len(mine),
                    ok=sum(r.ok for r in mine),
                    errors=sum(r.errors for r in mine),
                    rps=_median(r.rps for r in mine),
                    ttft_p50_ms=_median(r.ttft_p50_ms for r in mine),
                    ttft_p99_ms=_median(r.ttft_p99_ms for r in mine),
                    added_ttft_p50_ms=(
                        _paired(runs, cell, target, "direct", _minus("ttft_p50_ms"))
                        if has_direct
                        else None
                    ),
                    added_ttft_p99_ms=(
                        _paired(runs, cell, target, "direct", _minus("ttft_p99_ms"))
                        if has_direct
                        else None
                    ),
                    latency_p50_ms=_median(r.latency_p50_ms for r in mine),
                    gap_p50_ms=_median(r.gap_p50_ms for r in mine),
                    gap_p99_ms=_median(r.gap_p99_ms for r in mine),
                    content_gap_p99_ms=_median(r.content_gap_p99_ms for r in mine),
                    done_wait_p99_ms=_median(r.done_wait_p99_ms for r in mine),
                    cpu_ms_per_request=_median(r.cpu_ms_per_request.get("target") for r in mine),
                    cpu_resolution_ms=_median(r.cpu_resolution_ms_per_request for r in mine),
                    cpu_percent=_median(r.cpu_percent.get("target") for r in mine),
                    rss_mb=_median(r.rss_mb.get("target") for r in mine),
                    upstream_cpu_ms_per_request=_median(
                        r.cpu_ms_per_request.get("upstream") for r in mine
                    ),
                    loadgen_cpu_ms_per_request=_median(
                        r.cpu_ms_per_request.get("loadgen") for r in mine
                    ),
                    others_percent=_median(r.others_percent for r in mine),
                )
            )
    cpu_verdicts: list[CpuVerdict] = []
    stall_verdicts: list[StallVerdict] = []
    if "gateway" in targets and "bare" in targets:
        for cell in cells:
            row = {r.target: r for r in rows if r.cell == cell}
            cpu_verdicts.append(
                CpuVerdict(
                    cell,
                    _paired(runs, cell, "gateway", "bare", _cpu_ratio),
                    row["gateway"].cpu_ms_per_request,
                    row["bare"].cpu_ms_per_request,
                    row["gateway"].cpu_resolution_ms,
                    row["bare"].cpu_resolution_ms,
                    _worst(row["gateway"].others_percent, row["bare"].others_percent),
                )
            )
    if "gateway" in targets and cells:
        top = max(c.concurrency for c in cells)
        for cell in cells:
            if cell.concurrency == top and cell.delay_ms > 0:
                by_target = {r.target: r for r in rows if r.cell == cell}
                stall_verdicts.append(
                    StallVerdict(
                        cell,
                        STALL_FACTOR * cell.delay_ms,
                        {t: r.gap_p99_ms for t, r in by_target.items()},
                        by_target["gateway"].content_gap_p99_ms,
                        by_target["gateway"].done_wait_p99_ms,
                        by_target["gateway"].others_percent,
                    )
                )
    return Report(meta, runs, rows, cpu_verdicts, stall_verdicts)


def _worst(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _noise(others_percent: float | None, rounds: int) -> str:
    if others_percent is None or others_percent < NOISY_OTHERS_PERCENT:
        return ""
    advice = "try --rounds 3" if rounds < 3 else "rerun when the machine is quieter"
    return f"  [noisy: others {others_percent:.0f}% of a core; {advice}]"


def _num(value: float | None, digits: int = 1, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _pm(value: float | None, resolution: float | None) -> str:
    """A CPU figure with its tick resolution, shown once it is 5 % of the value or more."""
    if value is None or resolution is None or resolution < 0.05 * value:
        return _num(value, 2)
    return f"{value:.2f}+-{resolution:.2f}"


_COLUMNS = (
    "cell",
    "target",
    "req/s",
    "TTFT p50",
    "+TTFT p50",
    "+TTFT p99",
    "gap p99",
    "content gap p99",
    "DONE wait p99",
    "CPU ms/req",
    "CPU %",
    "RSS MB",
    "ok",
    "err",
    "others %",
)


def _cells(row: Row) -> list[str]:
    return [
        row.cell.label,
        row.target,
        _num(row.rps),
        _num(row.ttft_p50_ms),
        _num(row.added_ttft_p50_ms, signed=True),
        _num(row.added_ttft_p99_ms, signed=True),
        _num(row.gap_p99_ms),
        _num(row.content_gap_p99_ms),
        _num(row.done_wait_p99_ms),
        _num(row.cpu_ms_per_request, 2),
        _num(row.cpu_percent, 0),
        _num(row.rss_mb, 0),
        str(row.ok),
        str(row.errors),
        _num(row.others_percent, 0),
    ]


def verdict_lines(report: Report) -> list[str]:
    lines: list[str] = []
    rounds = int(report.meta.get("rounds", 1))
    if report.cpu_verdicts:
        lines.append(
            f"VERDICT gateway CPU / bare relay CPU per streamed request "
            f"(limit {CPU_RATIO_LIMIT:g}, aim {CPU_RATIO_AIM:g}):"
        )
        for v in report.cpu_verdicts:
            if v.ratio is None:
                status = "NO DATA"
            elif v.ratio <= CPU_RATIO_AIM:
                status = "PASS (meets aim)"
            elif v.ratio <= CPU_RATIO_LIMIT:
                status = "PASS (above aim)"
            else:
                status = "FAIL"
            lines.append(
                f"  {v.cell.label:<14} {_num(v.ratio, 2):>6}x  (gateway "
                f"{_pm(v.gateway_ms, v.gateway_resolution_ms)} ms, "
                f"bare {_pm(v.bare_ms, v.bare_resolution_ms)} ms)  {status}"
                + _noise(v.others_percent, rounds)
            )
    for s in report.stall_verdicts:
        gap = s.gap_p99_ms.get("gateway")
        status = {True: "PASS", False: "FAIL (stall)", None: "NO DATA"}[s.passed]
        context = ", ".join(f"{t} {_num(g)} ms" for t, g in s.gap_p99_ms.items() if t != "gateway")
        lines.append(
            f"VERDICT no stall at {s.cell.label}: gateway chunk-gap p99 {_num(gap)} ms "
            f"<= {s.limit_ms:g} ms  {status}"
            + (f"  ({context})" if context else "")
            + _noise(s.others_percent, rounds)
        )
        lines.append(
            f"  gateway without the last gap: content-gap p99 {_num(s.content_gap_p99_ms)} ms;"
            f" last event -> [DONE] p99 {_num(s.done_wait_p99_ms)} ms"
        )
    for run in report.failed_runs:
        lines.append(f"FAILED RUN r{run.round} {run.cell.label} {run.target}: {run.failure}")
    return lines


def text_table(report: Report) -> str:
    table = [list(_COLUMNS)] + [_cells(r) for r in report.rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(_COLUMNS))]
    out: list[str] = []
    previous: Cell | None = None
    for index, line in enumerate(table):
        cell = report.rows[index - 1].cell if index else None
        if index > 1 and cell != previous:
            out.append("")
        previous = cell
        out.append(
            "  ".join(
                v.ljust(w) if i < 2 else v.rjust(w)
                for i, (v, w) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
        )
    return "\n".join(out)


def legend() -> str:
    return (
        "TTFT/gap in ms; +TTFT = target minus direct, paired per round; "
        "CPU = target process tree over the measured window (direct has none); "
        "gap = between SSE data events incl. [DONE]; content gap = without the last one; "
        "DONE wait = last event to [DONE] (the gateway hands over its call record first; "
        "on PostgreSQL it waits for the commit); "
        "CPU % of one core; RSS at the end of the window; "
        "others % = machine CPU no watched process used (high: noisy numbers)."
    )


def markdown(report: Report) -> str:
    meta = report.meta
    lines = [
        "# saasllm gateway benchmark",
        "",
        f"{meta.get('started_at', '')} · commit `{meta.get('commit', '?')}` · "
        f"{meta.get('cpus', '?')} CPUs · {meta.get('rounds', '?')} round(s) x "
        f"{meta.get('duration_s', '?')} s (+{meta.get('warmup_s', '?')} s warm-up) per cell · "
        f"{meta.get('tokens', '?')}-token streams",
        "",
        "Idle CPU (% of a core, no traffic): "
        + (
            ", ".join(f"{k} {v:.2f}%" for k, v in meta.get("idle_cpu_percent", {}).items())
            or "not sampled"
        ),
        "",
        "| " + " | ".join(_COLUMNS) + " |",
        "|" + "|".join("---" for _ in _COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in report.rows]
    lines += ["", legend(), "", "```", *verdict_lines(report), "```", ""]
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Cell):
        return {"delay_ms": value.delay_ms, "concurrency": value.concurrency}
    return value


def write(report: Report, out_dir: Path) -> tuple[Path, Path]:
    data = {
        "meta": report.meta,
        "rows": [asdict(r) for r in report.rows],
        "verdicts": {
            "cpu_ratio_limit": CPU_RATIO_LIMIT,
            "cpu_ratio_aim": CPU_RATIO_AIM,
            "gateway_cpu_over_bare": [
                {**asdict(v), "passed": v.passed} for v in report.cpu_verdicts
            ],
            "no_stall": [{**asdict(v), "passed": v.passed} for v in report.stall_verdicts],
            "all_pass": report.verdicts_pass,
        },
        "runs": [asdict(r) for r in report.runs],
    }
    json_path = out_dir / "results.json"
    md_path = out_dir / "results.md"
    json_path.write_text(json.dumps(data, indent=1, default=_jsonable))
    md_path.write_text(markdown(report))
    return json_path, md_path
