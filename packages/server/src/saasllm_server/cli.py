"""``saasllm-server``: run the gateway (``serve``), the self-contained demo (``demo``), or
operate a running gateway through its admin API (``orgs``, ``teams``, ``credits``...)."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from saasllm_server.operator_cli import add_operator_commands

# uvicorn, the app and litellm are imported inside serve() and demo(): the operator
# commands only talk HTTP and should not wait seconds for a server they never start.


def serve(args: argparse.Namespace) -> None:
    from saasllm_server.app import create_app
    from saasllm_server.serving.run import run_gateway
    from saasllm_server.settings import Settings

    overrides: dict[str, object] = {}
    if args.config:
        overrides["config_file"] = Path(args.config)
    if args.database_url:
        overrides["database_url"] = args.database_url
    settings = Settings(**overrides)  # type: ignore[arg-type]
    host = args.host or settings.host
    port = args.port or settings.port
    run_gateway(create_app(settings), settings, host, port)


def demo(args: argparse.Namespace) -> None:
    from saasllm_server.app import create_app
    from saasllm_server.demo import (
        DEMO_KEY,
        DEMO_TEAM,
        DemoUnavailable,
        DemoUpstreamFailed,
        demo_config,
        start_demo_upstream,
    )
    from saasllm_server.serving.run import run_gateway
    from saasllm_server.settings import Settings

    try:
        upstream = start_demo_upstream(fake=args.fake, threads=args.threads)
    except (DemoUnavailable, DemoUpstreamFailed) as exc:
        sys.exit(f"saasllm demo: {exc}")
    label = "fake (deterministic)" if args.fake else "SmolLM2-135M (local, offline)"
    try:
        db_path = (
            Path(args.db) if args.db else Path(tempfile.mkdtemp(prefix="saasllm-demo-")) / "demo.db"
        )
        admin_key = os.environ.get("SAASLLM_ADMIN_KEY") or "sk-admin-" + secrets.token_urlsafe(16)
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{db_path}",
            admin_key=admin_key,
            config_file=None,
        )
        config = demo_config(upstream.base_url, upstream.alias, member=upstream.alias)
        print(
            f"saasllm demo on http://{args.host}:{args.port}  team={DEMO_TEAM} key={DEMO_KEY}\n"
            f"  upstream: {label}"
            f" at {upstream.base_url}\n  database: {db_path}\n  admin key: {admin_key}",
            flush=True,
        )
        app = create_app(settings, config, on_shutdown=[upstream.stop_sync])
        run_gateway(app, settings, args.host, args.port)
    finally:
        upstream.stop_sync()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saasllm-server", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p_serve = sub.add_parser("serve", help="run the gateway from settings and a config file")
    p_serve.add_argument("--host", default=None)
    p_serve.add_argument("--port", type=int, default=None)
    p_serve.add_argument("--config", default=None, help="YAML config (model_list, groups, tenancy)")
    p_serve.add_argument("--database-url", default=None)
    p_serve.set_defaults(func=serve)

    p_demo = sub.add_parser("demo", help="a self-contained demo gateway (team acme-corp)")
    p_demo.add_argument("--host", default="127.0.0.1")
    p_demo.add_argument("--port", type=int, default=8003)
    p_demo.add_argument("--fake", action="store_true", help="use the deterministic fake upstream")
    p_demo.add_argument("--threads", type=int, default=1, help="local model threads")
    p_demo.add_argument("--db", default=None, help="SQLite file to keep (default: a fresh one)")
    p_demo.set_defaults(func=demo)

    add_operator_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
