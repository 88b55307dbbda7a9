"""llama.cpp's server inside this process, with the settings that keep a 135M model usable."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from saasllm_testing.supervisor import READY_PREFIX


@dataclass(frozen=True, slots=True)
class ServeOptions:
    model_path: Path
    port: int
    threads: int
    alias: str
    ctx: int
    max_tokens: int
    repeat_penalty: float
    dry_multiplier: float


def _normalise_address(address: str) -> str:
    """llama.cpp reports ``http://host:port``; keep only scheme, host and port."""
    parts = urlsplit(address if "://" in address else f"http://{address}")
    return f"{parts.scheme or 'http'}://{parts.hostname or '127.0.0.1'}:{parts.port}"


def serve(options: ServeOptions) -> None:
    """Load the model, listen, print READY, and block until SIGTERM/SIGINT."""
    import xllamacpp

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)

    params = xllamacpp.CommonParams()
    params.model.path = str(options.model_path)
    params.hostnames = ["127.0.0.1"]
    params.port = options.port
    params.n_ctx = options.ctx
    # A 135M model asked for an essay tends to loop until its context is full; cap answers
    # that set no max_tokens of their own.
    params.n_predict = options.max_tokens
    # ...and to repeat one phrase forever; these samplers keep its answers readable
    # (measured on the seed prompts: 1.0/0.0 loops, 1.15/0.8 does not).
    params.sampling.penalty_repeat = options.repeat_penalty
    params.sampling.dry_multiplier = options.dry_multiplier
    params.n_parallel = 1
    params.cpuparams.n_threads = options.threads
    params.cpuparams_batch.n_threads = options.threads
    params.model_alias = {options.alias}
    params.offline = True
    server = xllamacpp.Server(params)
    print(f"{READY_PREFIX}{_normalise_address(str(server.listening_address))}", flush=True)
    stop.wait()
    del server
