"""Queries about organizations, teams, keys, model groups and team access."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from saasllm_schema import ModelGroupMember, ModelGroupSpec
from saasllm_server.storage.tables import (
    api_keys,
    credit_ledger,
    model_group_members,
    model_groups,
    organizations,
    team_balances,
    team_model_groups,
    teams,
)


async def find_key(conn: AsyncConnection, key_hash: str) -> tuple[Any, list[str]] | None:
    """The key with its team's settings and access list, whatever its state (the domain
    decides whether a revoked, expired or deleted one may act)."""
    row = (
        await conn.execute(
            select(
                api_keys.c.id,
                api_keys.c.team_id,
                api_keys.c.expires_at,
                api_keys.c.revoked_at,
                api_keys.c.model_groups,
                teams.c.organization_id,
                teams.c.status,
                teams.c.budget_mode,
                teams.c.credits_per_job,
                teams.c.tokens_per_credit,
                teams.c.credits_per_dollar,
                teams.c.markup_percent,
                teams.c.overdraft_limit,
                teams.c.default_model_group,
                teams.c.rpm_limit,
                teams.c.max_concurrent_streams,
                teams.c.deleted_at,
            )
            .join(teams, teams.c.id == api_keys.c.team_id)
            .where(api_keys.c.key_hash == key_hash)
        )
    ).first()
    if row is None:
        return None
    return row, await team_groups(conn, row.team_id)


async def live_key_hashes(conn: AsyncConnection) -> list[str]:
    """The hashes of every key not revoked, of teams not deleted (expiry aside)."""
    result = await conn.execute(
        select(api_keys.c.key_hash)
        .join(teams, teams.c.id == api_keys.c.team_id)
        .where(api_keys.c.revoked_at.is_(None), teams.c.deleted_at.is_(None))
    )
    return list(result.scalars())


async def team_groups(conn: AsyncConnection, team_id: str) -> list[str]:
    result = await conn.execute(
        select(team_model_groups.c.group_name)
        .where(team_model_groups.c.team_id == team_id)
        .order_by(team_model_groups.c.group_name)
    )
    return list(result.scalars())


async def organization_exists(conn: AsyncConnection, org_id: str) -> bool:
    found = await conn.scalar(select(organizations.c.id).where(organizations.c.id == org_id))
    return found is not None


async def upsert_organization(conn: AsyncConnection, org_id: str, name: str, now: datetime) -> bool:
    """Returns True when the organization was created."""
    if await organization_exists(conn, org_id):
        await conn.execute(
            update(organizations).where(organizations.c.id == org_id).values(name=name)
        )
        return False
    await conn.execute(insert(organizations).values(id=org_id, name=name, created_at=now))
    return True


async def team_row(conn: AsyncConnection, team_id: str) -> Any:
    return (await conn.execute(select(teams).where(teams.c.id == team_id))).first()


async def upsert_team(
    conn: AsyncConnection, values: dict[str, Any], initial_credits: int, actor: str, now: datetime
) -> bool:
    """Create or update a team; credits are granted only on creation (a restart grants nothing)."""
    team_id = values["id"]
    if await team_row(conn, team_id) is not None:
        changes = {k: v for k, v in values.items() if k != "id"}
        await conn.execute(update(teams).where(teams.c.id == team_id).values(**changes))
        return False
    await conn.execute(insert(teams).values(**values, created_at=now))
    await conn.execute(
        insert(team_balances).values(team_id=team_id, balance=initial_credits, updated_at=now)
    )
    if initial_credits:
        await conn.execute(
            insert(credit_ledger).values(
                team_id=team_id,
                kind="grant",
                amount=initial_credits,
                balance_before=0,
                balance_after=initial_credits,
                reason="initial credits",
                actor=actor,
                created_at=now,
            )
        )
    return True


async def set_team_groups(conn: AsyncConnection, team_id: str, groups: list[str]) -> None:
    await conn.execute(delete(team_model_groups).where(team_model_groups.c.team_id == team_id))
    if groups:
        await conn.execute(
            insert(team_model_groups), [{"team_id": team_id, "group_name": g} for g in groups]
        )


async def upsert_key(
    conn: AsyncConnection,
    *,
    key_id: str,
    team_id: str,
    key_hash: str,
    prefix: str,
    name: str,
    now: datetime,
) -> bool:
    existing = (
        await conn.execute(
            select(api_keys.c.id, api_keys.c.team_id).where(api_keys.c.key_hash == key_hash)
        )
    ).first()
    if existing is not None:
        return False
    await conn.execute(
        insert(api_keys).values(
            id=key_id, team_id=team_id, key_hash=key_hash, prefix=prefix, name=name, created_at=now
        )
    )
    return True


async def replace_model_group(conn: AsyncConnection, spec: ModelGroupSpec, now: datetime) -> None:
    name = spec.name
    exists = await conn.scalar(select(model_groups.c.name).where(model_groups.c.name == name))
    if exists is None:
        await conn.execute(insert(model_groups).values(name=name, created_at=now))
    await conn.execute(delete(model_group_members).where(model_group_members.c.group_name == name))
    await conn.execute(
        insert(model_group_members),
        [
            {
                "group_name": name,
                "position": i,
                "deployment": m if isinstance(m, str) else m.deployment,
                "litellm_params": None if isinstance(m, str) else m.litellm_params,
            }
            for i, m in enumerate(spec.members)
        ],
    )


async def load_model_groups(conn: AsyncConnection) -> list[ModelGroupSpec]:
    result = await conn.execute(
        select(
            model_group_members.c.group_name,
            model_group_members.c.deployment,
            model_group_members.c.litellm_params,
        ).order_by(model_group_members.c.group_name, model_group_members.c.position)
    )
    groups: dict[str, list[str | ModelGroupMember]] = {}
    for group_name, deployment, params in result:
        member: str | ModelGroupMember = (
            deployment
            if params is None
            else ModelGroupMember(deployment=deployment, litellm_params=params)
        )
        groups.setdefault(group_name, []).append(member)
    return [ModelGroupSpec(name=name, members=members) for name, members in groups.items()]


async def balance(conn: AsyncConnection, team_id: str) -> int | None:
    value = await conn.scalar(
        select(team_balances.c.balance).where(team_balances.c.team_id == team_id)
    )
    return None if value is None else int(value)


async def organizations_list(conn: AsyncConnection) -> list[Any]:
    return list((await conn.execute(select(organizations).order_by(organizations.c.id))).all())


async def organization_row(conn: AsyncConnection, org_id: str) -> Any:
    return (await conn.execute(select(organizations).where(organizations.c.id == org_id))).first()


async def team_views(
    conn: AsyncConnection,
    *,
    organization_id: str | None = None,
    team_id: str | None = None,
    include_deleted: bool = False,
) -> list[tuple[Any, int, int, list[str]]]:
    """Teams with their balance, holds and access list: (row, balance, reserved, groups)."""
    query = select(teams, team_balances.c.balance, team_balances.c.reserved).join(
        team_balances, team_balances.c.team_id == teams.c.id
    )
    if organization_id is not None:
        query = query.where(teams.c.organization_id == organization_id)
    if team_id is not None:
        query = query.where(teams.c.id == team_id)
    if not include_deleted:
        query = query.where(teams.c.deleted_at.is_(None))
    rows = list((await conn.execute(query.order_by(teams.c.id))).all())
    access: dict[str, list[str]] = {}
    if rows:
        ids = [r.id for r in rows]
        result = await conn.execute(
            select(team_model_groups.c.team_id, team_model_groups.c.group_name)
            .where(team_model_groups.c.team_id.in_(ids))
            .order_by(team_model_groups.c.group_name)
        )
        for tid, group in result:
            access.setdefault(tid, []).append(group)
    return [(r, int(r.balance), int(r.reserved), access.get(r.id, [])) for r in rows]


async def update_team(conn: AsyncConnection, team_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(teams).where(teams.c.id == team_id).values(**values))


async def key_rows(conn: AsyncConnection, team_id: str) -> list[Any]:
    return list(
        (
            await conn.execute(
                select(api_keys)
                .where(api_keys.c.team_id == team_id)
                .order_by(api_keys.c.created_at)
            )
        ).all()
    )


async def key_row(conn: AsyncConnection, key_id: str) -> Any:
    return (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()


async def insert_key(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(api_keys).values(**values))


async def claim_for_rotation(conn: AsyncConnection, key_id: str, values: dict[str, Any]) -> bool:
    """Mark a key as replaced, if it is still live and not replaced (False otherwise)."""
    result = await conn.execute(
        update(api_keys)
        .where(
            api_keys.c.id == key_id,
            api_keys.c.replaced_by.is_(None),
            api_keys.c.revoked_at.is_(None),
        )
        .values(**values)
    )
    return result.rowcount == 1


async def update_key(conn: AsyncConnection, key_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(**values))


async def delete_model_group(conn: AsyncConnection, name: str) -> bool:
    await conn.execute(delete(team_model_groups).where(team_model_groups.c.group_name == name))
    await conn.execute(delete(model_group_members).where(model_group_members.c.group_name == name))
    result = await conn.execute(delete(model_groups).where(model_groups.c.name == name))
    return result.rowcount == 1


async def teams_defaulting_to(conn: AsyncConnection, group: str) -> list[str]:
    result = await conn.execute(
        select(teams.c.id).where(teams.c.default_model_group == group, teams.c.deleted_at.is_(None))
    )
    return list(result.scalars())
