"""Model groups whose members are defined in place, changed while the gateway runs."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.gateway import ADMIN_KEY, GatewayProcess
from tests.support.tenants import Admin

MESSAGES = [{"role": "user", "content": "hello there"}]


def _operator(gateway: GatewayProcess) -> httpx.Client:
    return httpx.Client(
        base_url=gateway.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
    )


def test_a_member_defined_in_place_serves_calls_without_a_restart(
    sqlite_gateway: GatewayProcess, fake_upstream: Any
) -> None:
    inline = {
        "deployment": "own-fake",
        "litellm_params": {
            "model": "openai/fake-t3",
            "api_base": fake_upstream.url + "/v1",
            "api_key": "os.environ/GROUP_TEST_UNSET_KEY",
            "input_cost_per_token": 0.000001,
            "output_cost_per_token": 0.000002,
        },
    }
    spec = {"name": "inline-fallback", "members": ["fake-500", inline]}
    with _operator(sqlite_gateway) as operator:
        put = operator.put("/admin/model-groups/inline-fallback", json=spec)
        assert put.status_code == 200, put.text
        assert operator.get("/admin/model-groups/inline-fallback").json() == spec
        listed = {g["name"]: g for g in operator.get("/admin/model-groups").json()}
        assert listed["inline-fallback"] == spec

    team = Admin(sqlite_gateway.url).team(
        credits=10, default_model_group="inline-fallback", model_groups=[]
    )
    with httpx.Client(base_url=sqlite_gateway.url, headers=team.headers, timeout=30) as client:
        job_id = client.post("/api/jobs/create", json={"job_type": "inline"}).json()["job_id"]
        answer = client.post(f"/api/jobs/{job_id}/llm-call", json={"messages": MESSAGES})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        # The first member fails (500); the in-place member answers, with its own prices.
        assert body["metadata"]["model_group"] == "inline-fallback"
        assert body["metadata"]["cost_usd"] > 0
        assert len(body["response"]["content"].split()) == 3

    with _operator(sqlite_gateway) as operator:
        assert operator.delete("/admin/model-groups/inline-fallback").status_code == 409  # default
        operator.patch(f"/admin/teams/{team.team_id}", json={"default_model_group": "default"})
        assert operator.delete("/admin/model-groups/inline-fallback").status_code == 204
        assert operator.get("/admin/model-groups/inline-fallback").status_code == 404


def test_members_that_cannot_work_are_refused(sqlite_gateway: GatewayProcess) -> None:
    cases: list[tuple[list[Any], str]] = [
        (["no-such-deployment"], "model_list"),
        (
            [{"deployment": "x", "litellm_params": {"model": "openai/x", "api_key": "sk-live"}}],
            "os.environ",
        ),
        ([{"deployment": "x", "litellm_params": {"api_base": "http://h"}}], "model"),
        ([{"deployment": "x", "litellm_params": {"model": "nosuchprovider/x"}}], "litellm"),
        (["fake", "fake"], "twice"),
        # The gateway's own secrets, and credentials of any other kind, stay out.
        (
            [
                {
                    "deployment": "x",
                    "litellm_params": {
                        "model": "openai/x",
                        "api_key": "os.environ/SAASLLM_ADMIN_KEY",
                    },
                }
            ],
            "SAASLLM_",
        ),
        (
            [
                {
                    "deployment": "x",
                    "litellm_params": {"model": "bedrock/x", "aws_secret_access_key": "AKIA..."},
                }
            ],
            "cannot be set here",
        ),
    ]
    with _operator(sqlite_gateway) as operator:
        for members, hint in cases:
            answer = operator.put(
                "/admin/model-groups/bad", json={"name": "bad", "members": members}
            )
            assert answer.status_code == 422, (members, answer.text)
            assert hint in answer.json()["error"]["message"], (hint, answer.text)
        assert operator.get("/admin/model-groups/bad").status_code == 404
