# Generated from _admin.py by scripts/generate_sync.py; do not edit.
"""The admin API's client: organizations, teams, keys, credits and reports over ``/admin``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypedDict, TypeVar, Unpack

import httpx
from pydantic import BaseModel

from saasllm import _endpoints as ep
from saasllm._endpoints import Endpoint
from saasllm._policy import DEFAULT_MAX_RETRIES
from saasllm._sync_api_client import SyncAPIClient
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

_ItemT = TypeVar("_ItemT")

DEFAULT_ADMIN_TIMEOUT = 30.0
"""Admin calls are database work, never an LLM answer, so a shorter budget than jobs'."""

# A time for report filters: an aware datetime, or ISO 8601 text passed on as is.
When = datetime | str

# Gets the page after ``cursor`` (the first page for None).
_FetchPage = Callable[[str | None], Page[_ItemT]]


class JobFilters(TypedDict, total=False):
    """The filters of :meth:`SyncSaaSLLMAdmin.list_jobs`, for :meth:`SyncSaaSLLMAdmin.iter_jobs`."""

    organization_id: str | None
    team_id: str | None
    status: JobStatus | None
    job_type: str | None
    user_id: str | None
    start: When | None
    end: When | None


class AuditFilters(TypedDict, total=False):
    """The filters of :meth:`SyncSaaSLLMAdmin.audit`, for :meth:`SyncSaaSLLMAdmin.iter_audit`."""

    by: str | None
    action: str | None
    target: str | None


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


class SyncSaaSLLMAdmin(SyncAPIClient):
    """Client for a saasllm gateway's admin API; its methods are blocking calls.

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
        max_retries: Extra attempts for failures that are safe to resend: any
            request that never left; for reads, PUT, DELETE and the credit moves
            (which carry an ``Idempotency-Key``), also a "try again" answer or a
            lost one. Other changes go out once: the caller decides.
        http_client: Your own ``httpx.Client`` (proxies, transports); the SDK
            does not close a client it did not create.

    Errors are the job client's: :class:`~saasllm.NotFoundError`,
    :class:`~saasllm.ConflictError`, :class:`~saasllm.AuthenticationError`... all
    subclasses of ``httpx.HTTPStatusError``. Bodies are checked against the
    ``saasllm_schema`` models before anything is sent, so a bad argument raises
    pydantic's ``ValidationError`` (a ``ValueError``) without a request.
    """

    def __init__(
        self,
        base_url: str | None = None,
        admin_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = DEFAULT_ADMIN_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            base_url,
            admin_key,
            key_name="admin_key",
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
        )

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
        return self._call(ep.CREATE_ORGANIZATION, Organization, body=body)

    def list_organizations(self) -> list[Organization]:
        return self._call(ep.LIST_ORGANIZATIONS, list[Organization])

    def get_organization(self, id: str) -> Organization:
        return self._call(ep.GET_ORGANIZATION.at(id=id), Organization)

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
        return self._call(ep.CREATE_TEAM, Team, body=body)

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
        return self._call(ep.LIST_TEAMS, list[Team], params=params)

    def get_team(self, team_id: str) -> Team:
        return self._call(ep.GET_TEAM.at(team_id=team_id), Team)

    def update_team(self, team_id: str, **changes: Any) -> Team:
        """Change only the fields named (see ``TeamUpdate``); the others stay as they are.

        ``None`` clears an optional setting (``rpm_limit=None`` lifts the limit);
        ``model_groups`` replaces the team's whole list.
        """
        body = TeamUpdate.model_validate(changes)
        return self._call(ep.UPDATE_TEAM.at(team_id=team_id), Team, body=body)

    def suspend_team(self, team_id: str) -> Team:
        """The team's calls and new jobs are refused (403 ``team_suspended``) until resumed."""
        return self._call(ep.SUSPEND_TEAM.at(team_id=team_id), Team)

    def resume_team(self, team_id: str) -> Team:
        return self._call(ep.RESUME_TEAM.at(team_id=team_id), Team)

    def delete_team(self, team_id: str) -> None:
        """A soft delete: the keys stop working, the jobs and the ledger stay for reports."""
        self._request(ep.DELETE_TEAM.at(team_id=team_id))

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
        return self._call(ep.CREATE_KEY.at(team_id=team_id), KeyCreated, body=body)

    def list_keys(self, team_id: str) -> list[KeyInfo]:
        return self._call(ep.LIST_KEYS.at(team_id=team_id), list[KeyInfo])

    def get_key(self, key_id: str) -> KeyInfo:
        return self._call(ep.GET_KEY.at(key_id=key_id), KeyInfo)

    def update_key(self, key_id: str, **changes: Any) -> KeyInfo:
        """Change only the fields named (see ``KeyUpdate``); ``expires_at=None`` clears it."""
        body = KeyUpdate.model_validate(changes)
        return self._call(ep.UPDATE_KEY.at(key_id=key_id), KeyInfo, body=body)

    def revoke_key(self, key_id: str) -> KeyInfo:
        """The key fails its very next request (401); use :meth:`rotate_key` to hand over."""
        return self._call(ep.REVOKE_KEY.at(key_id=key_id), KeyInfo)

    def rotate_key(
        self, key_id: str, *, grace_seconds: int = 3600, name: str | None = None
    ) -> KeyCreated:
        """A new key with the same team and groups; the old one keeps working for
        ``grace_seconds`` so running deployments can switch over (0: it stops now)."""
        body = KeyRotate(grace_seconds=grace_seconds, name=name)
        return self._call(ep.ROTATE_KEY.at(key_id=key_id), KeyCreated, body=body)

    # --- credits ------------------------------------------------------------------

    def _move_credits(
        self, endpoint: Endpoint, team_id: str, body: BaseModel, idempotency_key: str | None
    ) -> LedgerEntry:
        """Every move carries an ``Idempotency-Key``, made once per call when not given.

        The SDK's own retries reuse it, so a retry after a lost answer returns the
        entry the first attempt made instead of moving the credits twice. Pass your
        own key to get the same guarantee across processes (a billing job re-run
        after a crash). Keys are per team; the same key with a different change is a
        ``ConflictError``.
        """
        return self._call(
            endpoint.at(team_id=team_id), LedgerEntry, body=body, idempotency_key=idempotency_key
        )

    def allocate_credits(
        self, team_id: str, amount: int, *, reason: str = "", idempotency_key: str | None = None
    ) -> LedgerEntry:
        """Credits granted under an agreement (a plan's monthly allocation), not bought."""
        body = CreditGrant(amount=amount, reason=reason)
        return self._move_credits(ep.ALLOCATE_CREDITS, team_id, body, idempotency_key)

    def top_up(
        self, team_id: str, amount: int, *, reason: str = "", idempotency_key: str | None = None
    ) -> LedgerEntry:
        """Purchased credits; pass the payment's id as ``idempotency_key`` to apply it once."""
        body = CreditGrant(amount=amount, reason=reason)
        return self._move_credits(ep.TOP_UP, team_id, body, idempotency_key)

    def adjust_credits(
        self, team_id: str, amount: int, *, reason: str, idempotency_key: str | None = None
    ) -> LedgerEntry:
        """A correction either way; the reason is required because the ledger is the audit."""
        body = CreditAdjustment(amount=amount, reason=reason)
        return self._move_credits(ep.ADJUST_CREDITS, team_id, body, idempotency_key)

    def refund(
        self,
        team_id: str,
        amount: int,
        *,
        reason: str = "",
        job_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> LedgerEntry:
        """With ``job_id``, at most that job's charge and once per job (then a
        ``ConflictError`` with code ``already_refunded``)."""
        body = CreditGrant(amount=amount, reason=reason, job_id=job_id)
        return self._move_credits(ep.REFUND, team_id, body, idempotency_key)

    def ledger(
        self, team_id: str, *, limit: int = 100, cursor: str | None = None
    ) -> Page[LedgerEntry]:
        """Newest first; pass ``next_cursor`` back as ``cursor`` (or use :meth:`iter_ledger`)."""
        params = _query(limit=limit, cursor=cursor)
        endpoint = ep.LEDGER.at(team_id=team_id)
        return self._call(endpoint, Page[LedgerEntry], params=params)

    def iter_ledger(self, team_id: str, *, page_size: int = 100) -> Iterator[LedgerEntry]:
        return self._paginate(lambda cursor: self.ledger(team_id, limit=page_size, cursor=cursor))

    # --- model groups -------------------------------------------------------------

    def list_model_groups(self) -> list[ModelGroupSpec]:
        return self._call(ep.LIST_MODEL_GROUPS, list[ModelGroupSpec])

    def get_model_group(self, name: str) -> ModelGroupSpec:
        return self._call(ep.GET_MODEL_GROUP.at(name=name), ModelGroupSpec)

    def put_model_group(
        self, name: str, members: Sequence[str | ModelGroupMember]
    ) -> ModelGroupSpec:
        """Create or replace: ``members`` in order are the fallback chain, live at once. A
        member is a ``model_list`` name or a ``ModelGroupMember`` defined in place."""
        body = ModelGroupSpec(name=name, members=list(members))
        return self._call(ep.PUT_MODEL_GROUP.at(name=name), ModelGroupSpec, body=body)

    def delete_model_group(self, name: str) -> None:
        """Refused (``ConflictError``) while a team has the group as its default."""
        self._request(ep.DELETE_MODEL_GROUP.at(name=name))

    # --- admin keys ---------------------------------------------------------------

    def create_admin_key(self, name: str, *, scope: AdminScope = "read") -> AdminKeyCreated:
        """``read`` sees teams, keys, ledgers, usage and jobs; ``billing`` also moves credits;
        ``full`` does all, including admin keys and the audit log.

        Give each tool the least it needs: a dashboard ``read``, an invoicing job
        ``billing``. ``AdminKeyCreated.key`` is the only copy of the secret.
        """
        body = AdminKeyCreate(name=name, scope=scope)
        return self._call(ep.CREATE_ADMIN_KEY, AdminKeyCreated, body=body)

    def list_admin_keys(self) -> list[AdminKeyInfo]:
        return self._call(ep.LIST_ADMIN_KEYS, list[AdminKeyInfo])

    def revoke_admin_key(self, key_id: str) -> AdminKeyInfo:
        return self._call(ep.REVOKE_ADMIN_KEY.at(key_id=key_id), AdminKeyInfo)

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
        return self._call(ep.USAGE, UsageReport, params=params)

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
        return self._call(ep.LIST_JOBS, Page[JobListItem], params=params)

    def iter_jobs(
        self, *, page_size: int = 100, **filters: Unpack[JobFilters]
    ) -> Iterator[JobListItem]:
        """Every job :meth:`list_jobs` would list with the same filters, page by page."""
        return self._paginate(
            lambda cursor: self.list_jobs(limit=page_size, cursor=cursor, **filters)
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
        return self._call(ep.AUDIT, Page[AuditEntry], params=params)

    def iter_audit(
        self, *, page_size: int = 100, **filters: Unpack[AuditFilters]
    ) -> Iterator[AuditEntry]:
        """Every entry :meth:`audit` would list with the same filters, page by page."""
        return self._paginate(lambda cursor: self.audit(limit=page_size, cursor=cursor, **filters))
