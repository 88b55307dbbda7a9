"""Organizations and teams: the operator's writes and reads of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from saasllm_schema import Organization, OrganizationCreate, Team, TeamCreate, TeamUpdate
from saasllm_server.domain import billing
from saasllm_server.domain.events import Change, ChangeKind
from saasllm_server.domain.model_groups import ModelGroupCatalog
from saasllm_server.domain.writes import ChangeWriter
from saasllm_server.errors import Conflict, InvalidRequest, NotFound
from saasllm_server.storage import tenancy as store
from saasllm_server.storage.database import as_utc, utcnow

# Team fields an update may set to null (no limit, no default, no threshold).
_CLEARABLE = frozenset(
    {"default_model_group", "rpm_limit", "max_concurrent_streams", "low_balance_threshold"}
)


def team_view(row: Any, balance: int, reserved: int, groups: list[str]) -> Team:
    available = billing.available(balance, reserved, int(row.overdraft_limit))
    threshold = row.low_balance_threshold
    return Team(
        id=row.id,
        organization_id=row.organization_id,
        name=row.name,
        status=row.status,
        credits_remaining=balance,
        credits_reserved=reserved,
        credits_available=available,
        debt=max(0, -(balance + int(row.overdraft_limit))),
        low_balance=threshold is not None and balance <= int(threshold),
        default_model_group=row.default_model_group,
        model_groups=groups,
        budget_mode=row.budget_mode,
        credits_per_job=int(row.credits_per_job),
        tokens_per_credit=int(row.tokens_per_credit),
        credits_per_dollar=float(row.credits_per_dollar),
        markup_percent=float(row.markup_percent),
        overdraft_limit=int(row.overdraft_limit),
        low_balance_threshold=None if threshold is None else int(threshold),
        rpm_limit=row.rpm_limit,
        max_concurrent_streams=row.max_concurrent_streams,
        created_at=as_utc(row.created_at),
        deleted_at=as_utc(row.deleted_at),
    )


def _organization(row: Any) -> Organization:
    return Organization(id=row.id, name=row.name, created_at=as_utc(row.created_at))


class TenancyService:
    def __init__(self, writer: ChangeWriter, catalog: ModelGroupCatalog) -> None:
        self._writer = writer
        self._engine: AsyncEngine = writer.engine
        self._catalog = catalog

    async def create_organization(self, actor: str, body: OrganizationCreate) -> Organization:
        name = body.name or body.id
        async with self._writer.change(
            actor=actor,
            action="organization.create",
            target=f"organization:{body.id}",
            details=body.model_dump(),
            event=Change(ChangeKind.ORGANIZATION, body.id),
        ) as write:
            if await store.organization_exists(write.conn, body.id):
                raise Conflict(f"organization {body.id!r} exists")
            await store.upsert_organization(write.conn, body.id, name, write.now)
        return Organization(id=body.id, name=name, created_at=write.now)

    async def organizations(self) -> list[Organization]:
        async with self._engine.connect() as conn:
            rows = await store.organizations_list(conn)
        return [_organization(r) for r in rows]

    async def organization(self, organization_id: str) -> Organization:
        async with self._engine.connect() as conn:
            row = await store.organization_row(conn, organization_id)
        if row is None:
            raise NotFound(f"organization {organization_id!r} not found")
        return _organization(row)

    async def team(self, team_id: str) -> Team:
        """A live team (a deleted one is 404 like an unknown one)."""
        async with self._engine.connect() as conn:
            views = await store.team_views(conn, team_id=team_id)
        if not views:
            raise NotFound(f"team {team_id!r} not found")
        return team_view(*views[0])

    async def teams(
        self,
        *,
        organization_id: str | None = None,
        low_balance: bool | None = None,
        include_deleted: bool = False,
    ) -> list[Team]:
        async with self._engine.connect() as conn:
            views = await store.team_views(
                conn, organization_id=organization_id, include_deleted=include_deleted
            )
        found = [team_view(*v) for v in views]
        if low_balance is not None:
            found = [t for t in found if t.low_balance == low_balance]
        return found

    def _check_groups(self, groups: set[str]) -> None:
        unknown = [g for g in sorted(groups) if self._catalog.members(g) is None]
        if unknown:
            raise InvalidRequest(f"unknown model groups {unknown}", param="model_groups")

    async def create_team(self, actor: str, body: TeamCreate) -> Team:
        """The initial credits are a ``grant`` ledger entry; the default group joins the
        access list."""
        groups = set(body.model_groups)
        if body.default_model_group:
            groups.add(body.default_model_group)
        self._check_groups(groups)
        async with self._writer.change(
            actor=actor,
            action="team.create",
            target=f"team:{body.id}",
            details=body.model_dump(mode="json"),
            event=Change(ChangeKind.TEAM, body.id),
        ) as write:
            if not await store.organization_exists(write.conn, body.organization_id):
                raise NotFound(f"organization {body.organization_id!r} not found")
            if await store.team_row(write.conn, body.id) is not None:
                raise Conflict(f"team {body.id!r} exists")
            values = body.model_dump(exclude={"credits", "model_groups"})
            values.update(name=body.name or body.id, status="active")
            await store.upsert_team(write.conn, values, body.credits, actor, write.now)
            await store.set_team_groups(write.conn, body.id, sorted(groups))
        return await self.team(body.id)

    async def update_team(self, actor: str, team_id: str, body: TeamUpdate) -> Team:
        current = await self.team(team_id)
        changes = body.model_dump(exclude_unset=True)
        new_groups = changes.pop("model_groups", None)
        groups = set(current.model_groups if new_groups is None else new_groups)
        default = changes.get("default_model_group", current.default_model_group)
        if default:
            groups.add(default)
        self._check_groups(groups)
        for name, value in changes.items():
            if value is None and name not in _CLEARABLE:
                raise InvalidRequest(f"{name} cannot be null", param=name)
        async with self._writer.change(
            actor=actor,
            action="team.update",
            target=f"team:{team_id}",
            details=body.model_dump(mode="json", exclude_unset=True),
            event=Change(ChangeKind.TEAM, team_id),
        ) as write:
            if changes:
                await store.update_team(write.conn, team_id, changes)
            await store.set_team_groups(write.conn, team_id, sorted(groups))
        return await self.team(team_id)

    async def suspend(self, actor: str, team_id: str) -> Team:
        """Every call and job creation of the team is refused (403 ``team_suspended``)."""
        await self._lifecycle(actor, team_id, "team.suspend", {"status": "suspended"})
        return await self.team(team_id)

    async def resume(self, actor: str, team_id: str) -> Team:
        await self._lifecycle(actor, team_id, "team.resume", {"status": "active"})
        return await self.team(team_id)

    async def delete(self, actor: str, team_id: str) -> None:
        """Soft delete: the keys stop working; jobs, calls and ledger stay."""
        await self._lifecycle(actor, team_id, "team.delete", {"deleted_at": utcnow()})

    async def _lifecycle(
        self, actor: str, team_id: str, action: str, values: dict[str, Any]
    ) -> None:
        await self.team(team_id)
        async with self._writer.change(
            actor=actor,
            action=action,
            target=f"team:{team_id}",
            event=Change(ChangeKind.TEAM, team_id),
        ) as write:
            await store.update_team(write.conn, team_id, values)
