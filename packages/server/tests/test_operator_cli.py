"""The operator commands as operators run them: the real ``saasllm-server`` CLI in its own
process, against a real gateway over a socket, reading only what it prints."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from typing import Any

import httpx
import pytest

from saasllm_schema.admin import LedgerEntry, Team, UsageReport
from saasllm_server.cli import build_parser
from tests.support.gateway import ADMIN_KEY, GatewayProcess
from tests.support.tenants import Admin, TeamHandle

HEAVY = ("litellm", "fastapi", "uvicorn", "sqlalchemy", "starlette")


def cli(
    gateway: GatewayProcess, *args: str, admin_key: str = ADMIN_KEY
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAASLLM_URL": gateway.url, "SAASLLM_ADMIN_KEY": admin_key}
    return subprocess.run(
        [sys.executable, "-m", "saasllm_server.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result))


def failed(result: subprocess.CompletedProcess[str], code: str) -> str:
    """The one-line failure every gateway error must become."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {code}: "), lines[0]
    return lines[0]


def row_of(text: str, first: str) -> list[str]:
    """The cells of the table row that starts with ``first``."""
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in:\n{text}")


def field(text: str, label: str) -> str:
    """A value from a ``show`` record (``label  value``)."""
    for line in text.splitlines():
        if line.startswith(label + "  "):
            return line[len(label) :].strip()
    raise AssertionError(f"no field {label!r} in:\n{text}")


@pytest.fixture(scope="module")
def admin(sqlite_gateway: GatewayProcess) -> Admin:
    return Admin(sqlite_gateway.url)


@pytest.fixture
def team(admin: Admin) -> TeamHandle:
    return admin.team(credits=100)


def test_orgs_create_then_list(sqlite_gateway: GatewayProcess) -> None:
    org_id = f"org-{secrets.token_hex(4)}"
    created = ok(cli(sqlite_gateway, "orgs", "create", org_id, "--name", "Ops Org"))
    assert field(created, "id") == org_id
    assert field(created, "name") == "Ops Org"

    listed = ok(cli(sqlite_gateway, "orgs", "list"))
    assert row_of(listed, org_id)[1:3] == ["Ops", "Org"]
    assert listed.splitlines()[0].split()[:2] == ["ID", "NAME"]

    orgs = as_json(cli(sqlite_gateway, "orgs", "list", "--json"))
    assert isinstance(orgs, list)
    assert {"id": org_id, "name": "Ops Org"}.items() <= next(
        o for o in orgs if o["id"] == org_id
    ).items()


def test_team_create_with_billing_options_then_show(
    sqlite_gateway: GatewayProcess, admin: Admin
) -> None:
    admin._ensure_org()
    team_id = f"team-{secrets.token_hex(4)}"
    created = cli(
        sqlite_gateway,
        "teams",
        "create",
        team_id,
        "--org",
        "tests",
        "--name",
        "Billing",
        "--credits",
        "250",
        "--default-group",
        "default",
        "--group",
        "priced",
        "--budget-mode",
        "per_usd",
        "--credits-per-dollar",
        "250.5",
        "--markup-percent",
        "12.5",
        "--overdraft-limit",
        "40",
        "--low-balance-threshold",
        "30",
        "--rpm",
        "60",
        "--max-streams",
        "3",
    )
    assert field(ok(created), "id") == team_id

    shown = ok(cli(sqlite_gateway, "teams", "show", team_id))
    expected = {
        "organization": "tests",
        "status": "active",
        "balance": "250",
        "available": "290",
        "overdraft limit": "40",
        "low-balance threshold": "30",
        "budget mode": "per_usd",
        "credits per dollar": "250.5",
        "markup percent": "12.5",
        "default group": "default",
        "groups": "default, priced",
        "rpm limit": "60",
        "max streams": "3",
    }
    assert {label: field(shown, label) for label in expected} == expected

    team = Team.model_validate(as_json(cli(sqlite_gateway, "teams", "show", team_id, "--json")))
    assert team.model_dump(exclude={"created_at"}) == {
        **Team.model_validate(admin.get_team(team_id)).model_dump(exclude={"created_at"}),
        "id": team_id,
        "credits_remaining": 250,
        "budget_mode": "per_usd",
        "credits_per_dollar": 250.5,
        "markup_percent": 12.5,
        "overdraft_limit": 40,
        "low_balance_threshold": 30,
        "rpm_limit": 60,
        "max_concurrent_streams": 3,
        "model_groups": ["default", "priced"],
    }

    # An update sends only what was typed; "none" lifts a limit.
    updated = ok(cli(sqlite_gateway, "teams", "update", team_id, "--rpm", "none"))
    assert field(updated, "rpm limit") == "-"
    assert field(updated, "max streams") == "3"


def test_key_secret_is_printed_once(sqlite_gateway: GatewayProcess, team: TeamHandle) -> None:
    created = cli(sqlite_gateway, "keys", "create", team.team_id, "--name", "ci")
    text = ok(created)
    secret = field(text, "secret")
    assert secret.startswith("sk-")
    assert "cannot be shown again" in created.stderr
    key_id = field(text, "key id")

    listed = ok(cli(sqlite_gateway, "keys", "list", team.team_id))
    as_data = ok(cli(sqlite_gateway, "keys", "list", team.team_id, "--json"))
    assert secret not in listed
    assert secret not in as_data
    assert row_of(listed, key_id)[1:3] == ["ci", field(text, "prefix")]
    assert {k["key_id"] for k in json.loads(as_data)} == {team.key_id, key_id}
    # The secret works: it is the team's key.
    models = httpx.get(
        sqlite_gateway.url + "/v1/models", headers={"Authorization": f"Bearer {secret}"}
    )
    assert models.status_code == 200, models.text


def test_topup_with_idempotency_key_applies_once(
    sqlite_gateway: GatewayProcess, team: TeamHandle
) -> None:
    key = f"invoice-{secrets.token_hex(4)}"
    args = (
        "credits",
        "topup",
        team.team_id,
        "500",
        "--reason",
        "invoice",
        "--idempotency-key",
        key,
    )
    first = ok(cli(sqlite_gateway, *args))
    again = ok(cli(sqlite_gateway, *args))
    assert field(first, "balance after") == field(again, "balance after") == "600"
    assert field(first, "entry") == field(again, "entry")

    entries = [
        LedgerEntry.model_validate(e)
        for e in as_json(cli(sqlite_gateway, "credits", "ledger", team.team_id, "--json"))
    ]
    assert [e.kind for e in entries] == ["topup", "grant"]  # newest first
    assert [e.idempotency_key for e in entries].count(key) == 1
    assert entries[0].amount == 500
    assert entries[0].reason == "invoice"

    ledger = ok(cli(sqlite_gateway, "credits", "ledger", team.team_id))
    assert row_of(ledger, str(entries[0].id))[3:6] == ["topup", "500", "100"]


def test_groups_list(sqlite_gateway: GatewayProcess) -> None:
    listed = ok(cli(sqlite_gateway, "groups", "list"))
    assert row_of(listed, "fallback")[1:] == ["2", "fake-500", ">", "fake"]
    groups = as_json(cli(sqlite_gateway, "groups", "list", "--json"))
    assert {"name": "default", "members": ["fake"]} in groups


def test_usage_table_and_json(sqlite_gateway: GatewayProcess, team: TeamHandle) -> None:
    with httpx.Client(base_url=sqlite_gateway.url, headers=team.headers, timeout=30) as client:
        job_id = client.post("/api/jobs/create", json={"job_type": "report"}).json()["job_id"]
        call = client.post(
            f"/api/jobs/{job_id}/llm-call",
            json={"messages": [{"role": "user", "content": "Hello"}]},
        )
        assert call.status_code == 200, call.text
        done = client.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
        assert done.status_code == 200, done.text

    text = ok(cli(sqlite_gateway, "usage", "--team", team.team_id))
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["DAY", "JOBS", "DONE", "CALLS"]
    assert len(lines) == 5  # header, rule, one day, rule, totals
    day, total = lines[2].split(), lines[4].split()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", day[0])
    assert total[0] == "total"
    assert day[1:5] == total[1:5] == ["1", "1", "1", "0"]
    assert total[-1] == "1"  # per_job: one credit

    report = UsageReport.model_validate(
        as_json(cli(sqlite_gateway, "usage", "--team", team.team_id, "--by", "job_type", "--json"))
    )
    assert report.group_by == "job_type"
    assert [(r.job_type, r.jobs, r.calls) for r in report.rows] == [("report", 1, 1)]
    assert report.totals.credits_charged == 1
    assert report.totals.prompt_tokens > 0


def test_bad_admin_key_is_one_line_and_exit_1(sqlite_gateway: GatewayProcess) -> None:
    result = cli(sqlite_gateway, "orgs", "list", admin_key="sk-admin-wrong")
    line = failed(result, "invalid_admin_key")
    assert "HTTP 401" not in line
    assert result.stdout == ""


def test_unknown_team_is_not_found(sqlite_gateway: GatewayProcess) -> None:
    failed(cli(sqlite_gateway, "teams", "show", "no-such-team"), "not_found")


def test_admin_commands_skip_the_server_stack(sqlite_gateway: GatewayProcess) -> None:
    """An operator command imports the SDK, never litellm/FastAPI: it starts in a blink."""
    probe = (
        "import sys\n"
        "from saasllm_server.cli import main\n"
        "main(['groups', 'list', '--json'])\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    env = {**os.environ, "SAASLLM_URL": sqlite_gateway.url, "SAASLLM_ADMIN_KEY": ADMIN_KEY}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stderr


def test_serve_and_demo_still_parse() -> None:
    parser = build_parser()
    serve = parser.parse_args(["serve", "--port", "9001", "--config", "c.yaml"])
    assert (serve.func.__name__, serve.port, serve.config) == ("serve", 9001, "c.yaml")
    demo = parser.parse_args(["demo", "--fake"])
    assert (demo.func.__name__, demo.fake, demo.port) == ("demo", True, 8003)
