"""Every gateway endpoint the SDK calls, each declared once with when it may be resent.

The transports read :attr:`Endpoint.resend` and nothing else to decide whether a
failed attempt goes out again, so the rule for an endpoint lives on its line
here (see :class:`saasllm._policy.Resend` for what each level allows).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from urllib.parse import quote

from saasllm._policy import Resend

__all__ = ["Endpoint"]

_R = Resend


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    resend: Resend

    def at(self, **segments: str) -> Endpoint:
        """The endpoint with its ``{name}`` segments filled in.

        Each value is quoted whole, so an id holding ``/`` or ``?`` cannot reach
        another route.
        """
        quoted = {name: quote(str(value), safe="") for name, value in segments.items()}
        return dataclasses.replace(self, path=self.path.format(**quoted))


# --- the job API ----------------------------------------------------------------------

CREATE_JOB = Endpoint("POST", "/api/jobs/create", _R.KEYED)
GET_JOB = Endpoint("GET", "/api/jobs/{job_id}", _R.IDEMPOTENT)
COMPLETE_JOB = Endpoint("POST", "/api/jobs/{job_id}/complete", _R.KEYED)
LLM_CALL = Endpoint("POST", "/api/jobs/{job_id}/llm-call", _R.UNCHARGED)
LLM_CALL_STREAM = Endpoint("POST", "/api/jobs/{job_id}/llm-call-stream", _R.UNCHARGED)
CANCEL_STREAM = Endpoint("DELETE", "/api/jobs/{job_id}/streams/{stream_id}", _R.IDEMPOTENT)

# --- the admin API --------------------------------------------------------------------

CREATE_ORGANIZATION = Endpoint("POST", "/admin/organizations", _R.NEVER)
LIST_ORGANIZATIONS = Endpoint("GET", "/admin/organizations", _R.IDEMPOTENT)
GET_ORGANIZATION = Endpoint("GET", "/admin/organizations/{id}", _R.IDEMPOTENT)

CREATE_TEAM = Endpoint("POST", "/admin/teams", _R.NEVER)
LIST_TEAMS = Endpoint("GET", "/admin/teams", _R.IDEMPOTENT)
GET_TEAM = Endpoint("GET", "/admin/teams/{team_id}", _R.IDEMPOTENT)
UPDATE_TEAM = Endpoint("PATCH", "/admin/teams/{team_id}", _R.NEVER)
SUSPEND_TEAM = Endpoint("POST", "/admin/teams/{team_id}/suspend", _R.NEVER)
RESUME_TEAM = Endpoint("POST", "/admin/teams/{team_id}/resume", _R.NEVER)
DELETE_TEAM = Endpoint("DELETE", "/admin/teams/{team_id}", _R.IDEMPOTENT)

CREATE_KEY = Endpoint("POST", "/admin/teams/{team_id}/keys", _R.NEVER)
LIST_KEYS = Endpoint("GET", "/admin/teams/{team_id}/keys", _R.IDEMPOTENT)
GET_KEY = Endpoint("GET", "/admin/keys/{key_id}", _R.IDEMPOTENT)
UPDATE_KEY = Endpoint("PATCH", "/admin/keys/{key_id}", _R.NEVER)
REVOKE_KEY = Endpoint("POST", "/admin/keys/{key_id}/revoke", _R.NEVER)
ROTATE_KEY = Endpoint("POST", "/admin/keys/{key_id}/rotate", _R.NEVER)

ALLOCATE_CREDITS = Endpoint("POST", "/admin/teams/{team_id}/credits/allocate", _R.KEYED)
TOP_UP = Endpoint("POST", "/admin/teams/{team_id}/credits/topup", _R.KEYED)
ADJUST_CREDITS = Endpoint("POST", "/admin/teams/{team_id}/credits/adjust", _R.KEYED)
REFUND = Endpoint("POST", "/admin/teams/{team_id}/credits/refund", _R.KEYED)
LEDGER = Endpoint("GET", "/admin/teams/{team_id}/ledger", _R.IDEMPOTENT)

LIST_MODEL_GROUPS = Endpoint("GET", "/admin/model-groups", _R.IDEMPOTENT)
GET_MODEL_GROUP = Endpoint("GET", "/admin/model-groups/{name}", _R.IDEMPOTENT)
PUT_MODEL_GROUP = Endpoint("PUT", "/admin/model-groups/{name}", _R.IDEMPOTENT)
DELETE_MODEL_GROUP = Endpoint("DELETE", "/admin/model-groups/{name}", _R.IDEMPOTENT)

CREATE_ADMIN_KEY = Endpoint("POST", "/admin/admin-keys", _R.NEVER)
LIST_ADMIN_KEYS = Endpoint("GET", "/admin/admin-keys", _R.IDEMPOTENT)
REVOKE_ADMIN_KEY = Endpoint("POST", "/admin/admin-keys/{key_id}/revoke", _R.NEVER)

USAGE = Endpoint("GET", "/admin/usage", _R.IDEMPOTENT)
LIST_JOBS = Endpoint("GET", "/admin/jobs", _R.IDEMPOTENT)
AUDIT = Endpoint("GET", "/admin/audit", _R.IDEMPOTENT)
