"""What a request asks the fake to play: timing knobs and faults, read from the model name.

The model name is the one thing every client lets a test choose per call, through
any gateway config (``openai/fake-d20-cut5``), so the scenario lives there; the
``x-fake-*`` headers and the server defaults only fill the timing knobs a name
leaves unset.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

_PART_RE: Final = re.compile(
    r"(?P<knob>d|f|t|r|cut|slowfirst)(?P<num>\d+(?:\.\d+)?)|(?P<flag>429|500|503|stall|hang|badjson)"
)

DELAY_HEADER: Final = "x-fake-delay-ms"
TTFT_HEADER: Final = "x-fake-ttft-ms"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What a model name asks of the fake: knobs (None = not set) and faults."""

    delay_ms: float | None = None
    ttft_ms: float | None = None
    n_tokens: int | None = None
    status: int | None = None
    retry_after: int = 1
    cut_after: int | None = None
    stall: bool = False
    slowfirst_ms: float = 0.0
    hang: bool = False
    badjson: bool = False


@lru_cache(maxsize=1024)
def parse_model_name(model: str) -> ModelSpec:
    """Read knobs and faults from the dash-separated parts after the base name."""
    values: dict[str, Any] = {}
    for part in model.rsplit("/", 1)[-1].split("-")[1:]:
        match = _PART_RE.fullmatch(part)
        if match is None:
            continue
        flag = match["flag"]
        if flag is not None:
            if flag.isdigit():
                values["status"] = int(flag)
            else:
                values[flag] = True
            continue
        num = float(match["num"])
        knob = match["knob"]
        if knob == "d":
            values["delay_ms"] = num
        elif knob == "f":
            values["ttft_ms"] = num
        elif knob == "t":
            values["n_tokens"] = int(num)
        elif knob == "r":
            values["retry_after"] = max(0, math.ceil(num))
        elif knob == "cut":
            values["cut_after"] = int(num)
        else:
            values["slowfirst_ms"] = num
    return ModelSpec(**values)


@dataclass(frozen=True, slots=True)
class ServerDefaults:
    """The timing a request gets when neither its model name nor its headers set one."""

    delay_ms: float
    ttft_ms: float


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds before the first content chunk and between the following ones."""

    ttft_s: float
    delay_s: float


def timing_for(spec: ModelSpec, headers: Mapping[str, str], defaults: ServerDefaults) -> Timing:
    """Model-name knobs win over headers, headers over the server defaults."""
    delay_ms = spec.delay_ms
    if delay_ms is None:
        delay_ms = _header_ms(headers, DELAY_HEADER)
    ttft_ms = spec.ttft_ms
    if ttft_ms is None:
        ttft_ms = _header_ms(headers, TTFT_HEADER)
    delay = (defaults.delay_ms if delay_ms is None else delay_ms) / 1000
    ttft = (defaults.ttft_ms if ttft_ms is None else ttft_ms) / 1000
    return Timing(ttft_s=ttft, delay_s=delay)


def _header_ms(headers: Mapping[str, str], name: str) -> float | None:
    """A usable millisecond value, or None so that a malformed header is simply ignored."""
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
