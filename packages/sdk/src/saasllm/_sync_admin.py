"""The blocking admin client: the twin of the async one, for scripts and CLIs.

A thin I/O shell over the same policy, request and error code as
:class:`saasllm.SaaSLLMAdmin`; only the waiting and the socket calls differ.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote
from uuid import uuid4

import httpx
from pydantic import BaseModel

from saasllm._errors import (
    APIResponseValidationError,
    status_error_from_response,
    wrap_transport_error,
)
from saasllm._policy import (
    DEFAULT_MAX_RETRIES,
    build_timeout,
    is_retryable_exception,
    is_retryable_status,
    parse_retry_after,
    retry_delay,
)
from saasllm._requests import attempt_headers, base_headers, parse_response
from saasllm_schema import (
    AdminKeyCreate,
    AdminKeyCreated,
    AdminKeyInfo,
    AdminScope,
    AuditEntry,
    BudgetMode,
    CreditAdjustment,
    CreditGrant,
    JobListItem,
    JobStatus,
    KeyCreate,
    KeyCreated,
    KeyInfo,
    KeyRotate,
    KeyUpdate,
    LedgerEntry,
    ModelGroupMember,
    ModelGroupSpec,
    Organization,
    OrganizationCreate,
    Page,
    Team,
    TeamCreate,
    TeamUpdate,
    UsageGrouping,
    UsageReport,
)

__all__ = ["SyncSaaSLLMAdmin"]

_ModelT = TypeVar("_ModelT", bound=BaseModel)
_ItemT = TypeVar("_ItemT")

DEFAULT_ADMIN_TIMEOUT = 30.0
"""Admin calls are database work, never an LLM answer, so a shorter budget than jobs'."""

# Sending one of these twice leaves the gateway as sending it once did.
_IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE"})

# A time for report filters: an aware datetime, or ISO 8601 text passed on as is.
When = datetime | str

# Gets the page after ``cursor`` (the first page for None).
_FetchPage = Callable[[str | None], Page[_ItemT]]


def _segment(value: str) -> str:
    """Quote a path segment whole, so an id with ``/`` or ``?`` cannot reach another route."""
    return quote(str(value), safe="")


def _query(**params: object) -> dict[str, str]:
    """Unset filters are left out: ``?team_id=`` would filter for the empty string."""
    query: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            query[name] = "true" if value else "false"
        elif isinstance(value, datetime):
            query[name] = value.isoformat()
        else:
            query[name] = str(value)
    return query


def _body(model: BaseModel) -> dict[str, Any]:
    """Only the fields the caller set: an update must not reset the others to defaults."""
    return model.model_dump(mode="json", exclude_unset=True)


def _parse_list(model: type[_ModelT], response: httpx.Response) -> list[_ModelT]:
    try:
        body = response.json()
        if not isinstance(body, list):
            raise ValueError(f"expected a JSON array, got {type(body).__name__}")
        return [model.model_validate(item) for item in body]
    except ValueError as exc:  # bad JSON, or pydantic's ValidationError
        raise APIResponseValidationError(
            f"Unexpected list[{model.__name__}] body from {response.request.url}: {exc}",
            response=response,
        ) from exc


class SyncSaaSLLMAdmin:
    """Blocking client for a saasllm gateway's admin API.

    Usage::

        with SyncSaaSLLMAdmin("http://localhost:8003", "sk-admin-...") as admin:
            admin.create_organization("acme", "Acme Corp")
            team = admin.create_team("acme-prod", "acme", credits=1000)
            key = admin.create_key(team.id, name="backend")
            print(key.key)  # the only time the secret is shown
            admin.top_up(team.id, 500, reason="invoice 42")

    Args:
        base_url: The gateway's root URL (default: ``SAASLLM_BASE_URL``).
        admin_key: The operator's key or an admin API key, sent as a Bearer token
            (default: ``SAASLLM_ADMIN_KEY``). Its scope (``read``, ``billing``,
            ``full``) decides which methods succeed; the others raise
            :class:`~saasllm.PermissionDeniedError`.
        timeout: Seconds per read/write (connect is always 5 s), or an ``httpx.Timeout``.
        max_retries: Extra attempts for failures that are safe to resend.
        http_client: Your own ``httpx.Client`` (proxies, transports); the SDK
            does not close a client it did not create.

    Errors are the job client's: :class:`~saasllm.NotFoundError`,
    :class:`~saasllm.ConflictError`, :class:`~saasllm.AuthenticationError`... all
    subclasses of ``httpx.HTTPStatusError``. Bodies are checked against the
    ``saasllm_schema`` models before anything is sent, so a bad argument raises
    pydantic's ``ValidationError`` (a ``ValueError``) without a request.
    """

    base_url: str
    max_retries: int
    timeout: httpx.Timeout

    def __init__(
        self,
        base_url: str | None = None,
        admin_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = DEFAULT_ADMIN_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
    ) -> None:
        url = base_url or os.environ.get("SAASLLM_BASE_URL")
        if not url:
            raise ValueError("base_url is required (or set SAASLLM_BASE_URL)")
        key = admin_key or os.environ.get("SAASLLM_ADMIN_KEY")
        if not key:
            raise ValueError("admin_key is required (or set SAASLLM_ADMIN_KEY)")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = url.rstrip("/")
        self.max_retries = max_retries
        self.timeout = build_timeout(timeout)
        self._headers = base_headers(key, None)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self.timeout)

    def __repr__(self) -> str:
        # Never show the key.
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # --- transport ----------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send with retries; returns a 2xx response whose body has been read.

        Only what is safe to send twice is retried: GET, PUT and DELETE, and a
        POST carrying an ``Idempotency-Key`` (the credit moves). Any other POST or
        PATCH goes out once, since a retry after a lost answer could issue a second
        key or apply a change twice; the caller sees the error and decides.
        """
        retryable = method in _IDEMPOTENT_METHODS or idempotency_key is not None
        url = f"{self.base_url}{path}"
        retries_taken = 0
        while True:
            headers = {
                **self._headers,
                **attempt_headers(
                    retries_taken=retries_taken, idempotency_key=idempotency_key, stream=False
                ),
            }
            request = self._http.build_request(
                method, url, params=params, json=json, headers=headers, timeout=self.timeout
            )
            try:
                response = self._http.send(request)
            except httpx.RequestError as exc:
                delay = None
                if retryable and is_retryable_exception(exc):
                    delay = retry_delay(
                        retries_taken=retries_taken,
                        max_retries=self.max_retries,
                        retry_after=None,
                    )
                if delay is None:
                    raise wrap_transport_error(exc, request) from exc
                time.sleep(delay)
                retries_taken += 1
                continue
            if response.is_success:
                return response
            retry_after = parse_retry_after(response.headers)
            if retryable and is_retryable_status(response.status_code, response.headers):
                delay = retry_delay(
                    retries_taken=retries_taken,
                    max_retries=self.max_retries,
                    retry_after=retry_after,
                )
                if delay is not None:
                    time.sleep(delay)
                    retries_taken += 1
                    continue
            raise status_error_from_response(response, retry_after=retry_after)

    def _paginate(self, fetch: _FetchPage[_ItemT]) -> Iterator[_ItemT]:
        """Pages are fetched as the iteration reaches them, so stopping early costs nothing."""
        cursor: str | None = None
        while True:
            page = fetch(cursor)
            yield from page.data
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # --- organizations ------------------------------------------------------------

    def create_organization(self, id: str, name: str = "") -> Organization:
        """``name`` defaults to the id on the gateway."""
        body = OrganizationCreate(id=id, name=name)
        response = self._request("POST", "/admin/organizations", json=_body(body))
        return parse_response(Organization, response)

    def list_organizations(self) -> list[Organization]:
        response = self._request("GET", "/admin/organizations")
        return _parse_list(Organization, response)

    def get_organization(self, id: str) -> Organization:
        response = self._request("GET", f"/admin/organizations/{_segment(id)}")
        return parse_response(Organization, response)

    # --- teams --------------------------------------------------------------------

    def create_team(
        self,
        id: str,
        organization_id: str,
        *,
        name: str = "",
        credits: int = 0,
        default_model_group: str | None = None,
        model_groups: Sequence[str] = (),
        budget_mode: BudgetMode = "per_job",
        credits_per_job: int = 1,
        tokens_per_credit: int = 1000,
        credits_per_dollar: float = 100.0,
        markup_percent: float = 0.0,
        overdraft_limit: int = 0,
        low_balance_threshold: int | None = None,
        rpm_limit: int | None = None,
        max_concurrent_streams: int | None = None,
    ) -> Team:
        """``credits`` is the opening balance (a ``grant`` in the ledger).

        The default group is added to ``model_groups`` by the gateway, so
        ``default_model_group="default"`` alone gives the team one usable group.
        """
        body = TeamCreate(
            id=id,
            organization_id=organization_id,
            name=name,
            credits=credits,
            default_model_group=default_model_group,
            model_groups=list(model_groups),
            budget_mode=budget_mode,
            credits_per_job=credits_per_job,
            tokens_per_credit=tokens_per_credit,
            credits_per_dollar=credits_per_dollar,
            markup_percent=markup_percent,
            overdraft_limit=overdraft_limit,
            low_balance_threshold=low_balance_threshold,
            rpm_limit=rpm_limit,
            max_concurrent_streams=max_concurrent_streams,
        )
        response = self._request("POST", "/admin/teams", json=_body(body))
        return parse_response(Team, response)

    def list_teams(
        self,
        *,
        organization_id: str | None = None,
        low_balance: bool | None = None,
        include_deleted: bool = False,
    ) -> list[Team]:
        """``low_balance=True`` lists the teams at or below their threshold (to top up)."""
        params = _query(
            organization_id=organization_id,
            low_balance=low_balance,
            include_deleted=include_deleted or None,
        )
        response = self._request("GET", "/admin/teams", params=params)
        return _parse_list(Team, response)

    def get_team(self, team_id: str) -> Team:
        response = self._request("GET", f"/admin/teams/{_segment(team_id)}")
        return parse_response(Team, response)

    def update_team(self, team_id: str, **changes: Any) -> Team:
        """Change only the fields named (see ``TeamUpdate``); the others stay as they are.

        ``None`` clears an optional setting (``rpm_limit=None`` lifts the limit);
        ``model_groups`` replaces the team's whole list.
        """
        body = TeamUpdate.model_validate(changes)
        path = f"/admin/teams/{_segment(team_id)}"
        response = self._request("PATCH", path, json=_body(body))
        return parse_response(Team, response)

    def suspend_team(self, team_id: str) -> Team:
        """The team's calls and new jobs are refused (403 ``team_suspended``) until resumed."""
        response = self._request("POST", f"/admin/teams/{_segment(team_id)}/suspend")
        return parse_response(Team, response)

    def resume_team(self, team_id: str) -> Team:
        response = self._request("POST", f"/admin/teams/{_segment(team_id)}/resume")
        return parse_response(Team, response)

    def delete_team(self, team_id: str) -> None:
        """A soft delete: the keys stop working, the jobs and the ledger stay for reports."""
        self._request("DELETE", f"/admin/teams/{_segment(team_id)}")

    # --- team keys ----------------------------------------------------------------

    def create_key(
        self,
        team_id: str,
        *,
        name: str = "",
        expires_at: datetime | None = None,
        model_groups: Sequence[str] | None = None,
    ) -> KeyCreated:
        """``KeyCreated.key`` is the only copy of the secret: the gateway keeps a hash.

        ``model_groups`` narrows the key within the team's groups (None: all of them);
        ``expires_at`` must carry a time zone.
        """
        body = KeyCreate(
            name=name,
            expires_at=expires_at,
            model_groups=None if model_groups is None else list(model_groups),
        )
        path = f"/admin/teams/{_segment(team_id)}/keys"
        response = self._request("POST", path, json=_body(body))
        return parse_response(KeyCreated, response)

    def list_keys(self, team_id: str) -> list[KeyInfo]:
        response = self._request("GET", f"/admin/teams/{_segment(team_id)}/keys")
        return _parse_list(KeyInfo, response)

    def get_key(self, key_id: str) -> KeyInfo:
        response = self._request("GET", f"/admin/keys/{_segment(key_id)}")
        return parse_response(KeyInfo, response)

    def update_key(self, key_id: str, **changes: Any) -> KeyInfo:
        """Change only the fields named (see ``KeyUpdate``); ``expires_at=None`` clears it."""
        body = KeyUpdate.model_validate(changes)
        path = f"/admin/keys/{_segment(key_id)}"
        response = self._request("PATCH", path, json=_body(body))
        return parse_response(KeyInfo, response)

    def revoke_key(self, key_id: str) -> KeyInfo:
        """The key fails its very next request (401); use :meth:`rotate_key` to hand over."""
        response = self._request("POST", f"/admin/keys/{_segment(key_id)}/revoke")
        return parse_response(KeyInfo, response)

    def rotate_key(
        self, key_id: str, *, grace_seconds: int = 3600, name: str | None = None
    ) -> KeyCreated:
        """A new key with the same team and groups; the old one keeps working for
        ``grace_seconds`` so running deployments can switch over (0: it stops now)."""
        body = KeyRotate(grace_seconds=grace_seconds, name=name)
        path = f"/admin/keys/{_segment(key_id)}/rotate"
        response = self._request("POST", path, json=_body(body))
        return parse_response(KeyCreated, response)

    # --- credits ------------------------------------------------------------------

    def _move_credits(
        self, team_id: str, action: str, body: BaseModel, idempotency_key: str | None
    ) -> LedgerEntry:
        """Every move carries an ``Idempotency-Key``, made once per call when not given.

        The SDK's own retries reuse it, so a retry after a lost answer returns the
        entry the first attempt made instead of moving the credits twice. Pass your
        own key to get the same guarantee across processes (a billing job re-run
        after a crash). Keys are per team; the same key with a different change is a
        ``ConflictError``.
        """
        path = f"/admin/teams/{_segment(team_id)}/credits/{action}"
        key = idempotency_key or str(uuid4())
        response = self._request("POST", path, json=_body(body), idempotency_key=key)
        return parse_response(LedgerEntry, response)

    def allocate_credits(
        self, team_id: str, amount: int, *, reason: str = "", idempotency_key: str | None = None
    ) -> LedgerEntry:
        """Credits granted under an agreement (a plan's monthly allocation), not bought."""
        body = CreditGrant(amount=amount, reason=reason)
        return self._move_credits(team_id, "allocate", body, idempotency_key)

    def top_up(
        self, team_id: str, amount: int, *, reason: str = "", idempotency_key: str | None = None
    ) -> LedgerEntry:
        """Purchased credits; pass the payment's id as ``idempotency_key`` to apply it once."""
        body = CreditGrant(amount=amount, reason=reason)
        return self._move_credits(team_id, "topup", body, idempotency_key)

    def adjust_credits(
        self, team_id: str, amount: int, *, reason: str, idempotency_key: str | None = None
    ) -> LedgerEntry:
        """A correction either way; the reason is required because the ledger is the audit."""
        body = CreditAdjustment(amount=amount, reason=reason)
        return self._move_credits(team_id, "adjust", body, idempotency_key)

    def refund(
        self,
        team_id: str,
        amount: int,
        *,
        reason: str = "",
        job_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> LedgerEntry:
        """With ``job_id``, at most that job's charge and once per job (then ``ConflictError``)."""
        body = CreditGrant(amount=amount, reason=reason, job_id=job_id)
        return self._move_credits(team_id, "refund", body, idempotency_key)

    def ledger(
        self, team_id: str, *, limit: int = 100, cursor: str | None = None
    ) -> Page[LedgerEntry]:
        """Newest first; pass ``next_cursor`` back as ``cursor`` (or use :meth:`iter_ledger`)."""
        path = f"/admin/teams/{_segment(team_id)}/ledger"
        params = _query(limit=limit, cursor=cursor)
        response = self._request("GET", path, params=params)
        return parse_response(Page[LedgerEntry], response)

    def iter_ledger(self, team_id: str, *, page_size: int = 100) -> Iterator[LedgerEntry]:
        return self._paginate(lambda cursor: self.ledger(team_id, limit=page_size, cursor=cursor))

    # --- model groups -------------------------------------------------------------

    def list_model_groups(self) -> list[ModelGroupSpec]:
        response = self._request("GET", "/admin/model-groups")
        return _parse_list(ModelGroupSpec, response)

    def get_model_group(self, name: str) -> ModelGroupSpec:
        response = self._request("GET", f"/admin/model-groups/{_segment(name)}")
        return parse_response(ModelGroupSpec, response)

    def put_model_group(
        self, name: str, members: Sequence[str | ModelGroupMember]
    ) -> ModelGroupSpec:
        """Create or replace: ``members`` in order are the fallback chain, live at once. A
        member is a ``model_list`` name or a ``ModelGroupMember`` defined in place."""
        body = ModelGroupSpec(name=name, members=list(members))
        path = f"/admin/model-groups/{_segment(name)}"
        response = self._request("PUT", path, json=_body(body))
        return parse_response(ModelGroupSpec, response)

    def delete_model_group(self, name: str) -> None:
        """Refused (``ConflictError``) while a team has the group as its default."""
        self._request("DELETE", f"/admin/model-groups/{_segment(name)}")

    # --- admin keys ---------------------------------------------------------------

    def create_admin_key(self, name: str, *, scope: AdminScope = "read") -> AdminKeyCreated:
        """``read`` sees teams, keys, ledgers, usage and jobs; ``billing`` also moves credits;
        ``full`` does all, including admin keys and the audit log.

        Give each tool the least it needs: a dashboard ``read``, an invoicing job
        ``billing``. ``AdminKeyCreated.key`` is the only copy of the secret.
        """
        body = AdminKeyCreate(name=name, scope=scope)
        response = self._request("POST", "/admin/admin-keys", json=_body(body))
        return parse_response(AdminKeyCreated, response)

    def list_admin_keys(self) -> list[AdminKeyInfo]:
        response = self._request("GET", "/admin/admin-keys")
        return _parse_list(AdminKeyInfo, response)

    def revoke_admin_key(self, key_id: str) -> AdminKeyInfo:
        response = self._request("POST", f"/admin/admin-keys/{_segment(key_id)}/revoke")
        return parse_response(AdminKeyInfo, response)

    # --- reports ------------------------------------------------------------------

    def usage(
        self,
        *,
        organization_id: str | None = None,
        team_id: str | None = None,
        start: When | None = None,
        end: When | None = None,
        group_by: UsageGrouping = "day",
    ) -> UsageReport:
        """Days are UTC days of the jobs' creation; ``start``/``end`` need a time zone."""
        params = _query(
            organization_id=organization_id,
            team_id=team_id,
            start=start,
            end=end,
            group_by=group_by,
        )
        response = self._request("GET", "/admin/usage", params=params)
        return parse_response(UsageReport, response)

    def list_jobs(
        self,
        *,
        organization_id: str | None = None,
        team_id: str | None = None,
        status: JobStatus | None = None,
        job_type: str | None = None,
        user_id: str | None = None,
        start: When | None = None,
        end: When | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[JobListItem]:
        """Newest first; pass ``next_cursor`` back as ``cursor`` (or use :meth:`iter_jobs`)."""
        params = _query(
            organization_id=organization_id,
            team_id=team_id,
            status=status,
            job_type=job_type,
            user_id=user_id,
            start=start,
            end=end,
            limit=limit,
            cursor=cursor,
        )
        response = self._request("GET", "/admin/jobs", params=params)
        return parse_response(Page[JobListItem], response)

    def iter_jobs(
        self,
        *,
        organization_id: str | None = None,
        team_id: str | None = None,
        status: JobStatus | None = None,
        job_type: str | None = None,
        user_id: str | None = None,
        start: When | None = None,
        end: When | None = None,
        page_size: int = 100,
    ) -> Iterator[JobListItem]:
        return self._paginate(
            lambda cursor: self.list_jobs(
                organization_id=organization_id,
                team_id=team_id,
                status=status,
                job_type=job_type,
                user_id=user_id,
                start=start,
                end=end,
                limit=page_size,
                cursor=cursor,
            )
        )

    def audit(
        self,
        *,
        by: str | None = None,
        action: str | None = None,
        target: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[AuditEntry]:
        """Every admin change, newest first (needs a ``full`` key: it shows who did what).

        ``by`` is an actor (``admin:env`` or ``admin:<key id>``), ``target`` an
        object such as ``team:acme-prod``.
        """
        params = _query(by=by, action=action, target=target, limit=limit, cursor=cursor)
        response = self._request("GET", "/admin/audit", params=params)
        return parse_response(Page[AuditEntry], response)

    def iter_audit(
        self,
        *,
        by: str | None = None,
        action: str | None = None,
        target: str | None = None,
        page_size: int = 100,
    ) -> Iterator[AuditEntry]:
        return self._paginate(
            lambda cursor: self.audit(
                by=by, action=action, target=target, limit=page_size, cursor=cursor
            )
        )
