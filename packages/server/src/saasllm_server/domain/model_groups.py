"""Model groups: name → ordered members (the fallback chain).

The catalog is read on every call and changed rarely: the service writes a
change, publishes it, and every catalog reloads from the database when the
change reaches it.
"""

from __future__ import annotations

from collections.abc import Callable

from saasllm_schema import ErrorCode, ModelGroupMember, ModelGroupSpec
from saasllm_server.domain.events import Change, ChangeKind
from saasllm_server.domain.tenancy import Principal
from saasllm_server.domain.writes import ChangeWriter
from saasllm_server.errors import (
    Conflict,
    InvalidRequest,
    ModelGroupNotFound,
    NotFound,
    PermissionDenied,
)
from saasllm_server.storage import tenancy as store
from saasllm_server.upstreams.config import DeploymentConfig, GatewayConfig
from saasllm_server.upstreams.router import IN_GROUP, ModelRouter, build_deployment


class ModelGroupCatalog:
    def __init__(self, groups: list[ModelGroupSpec] | None = None) -> None:
        self._groups: dict[str, tuple[str, ...]] = {}
        self._specs: dict[str, ModelGroupSpec] = {}
        if groups:
            self.replace(groups)

    def replace(self, groups: list[ModelGroupSpec]) -> None:
        self._specs = {g.name: g for g in groups}
        self._groups = {g.name: tuple(g.member_keys()) for g in groups}

    def spec(self, name: str) -> ModelGroupSpec | None:
        return self._specs.get(name)

    def names(self) -> list[str]:
        return sorted(self._groups)

    def members(self, name: str) -> tuple[str, ...] | None:
        return self._groups.get(name)

    def resolve(self, principal: Principal, requested: str | None) -> tuple[str, tuple[str, ...]]:
        """The group a call runs on: the one asked for, else the team's default.

        A team may use its access list plus its default group; an unknown group is
        404 whether or not it exists for someone else, so names do not leak.
        """
        name = requested or principal.default_model_group
        if not name:
            raise InvalidRequest(
                "no model given and the team has no default model group",
                code=ErrorCode.NO_DEFAULT_MODEL_GROUP,
                param="model",
            )
        allowed = principal.may_use(name)
        members = self._groups.get(name)
        if members is None:
            raise ModelGroupNotFound(f"model group {name!r} not found", param="model")
        if not allowed:
            raise PermissionDenied(
                f"this key may not use model group {name!r}",
                code=ErrorCode.MODEL_GROUP_NOT_ALLOWED,
                param="model",
            )
        return name, members


def inline_deployments(specs: list[ModelGroupSpec]) -> list[DeploymentConfig]:
    """The ``model_list`` entries of members defined inside groups."""
    return [
        DeploymentConfig(
            model_name=spec.member_key(member),
            litellm_params=member.litellm_params,
            model_info={"id": spec.member_key(member), IN_GROUP: True},
        )
        for spec in specs
        for member in spec.members
        if isinstance(member, ModelGroupMember)
    ]


class ModelGroupService:
    """Writes groups, and keeps the catalog and the router in step with the database.

    ``use_router`` receives the router whenever members defined in groups change the set
    of deployments (a rebuilt router starts with fresh cooldowns, so only then).
    """

    def __init__(
        self,
        writer: ChangeWriter,
        catalog: ModelGroupCatalog,
        config: GatewayConfig,
        use_router: Callable[[ModelRouter], None],
    ) -> None:
        self._writer = writer
        self._catalog = catalog
        self._config = config
        self._use_router = use_router
        self._inline: list[DeploymentConfig] = []
        self.router = ModelRouter(config.model_list, config.router_settings)

    async def reload(self) -> None:
        async with self._writer.engine.connect() as conn:
            specs = await store.load_model_groups(conn)
        inline = inline_deployments(specs)
        if inline != self._inline:
            self.router = ModelRouter(
                [*self._config.model_list, *inline], self._config.router_settings
            )
            self._use_router(self.router)
            self._inline = inline
        self._catalog.replace(specs)

    async def on_change(self, change: Change) -> None:
        if change.kind is ChangeKind.MODEL_GROUPS:
            await self.reload()

    def groups(self) -> list[ModelGroupSpec]:
        specs = [self._catalog.spec(name) for name in self._catalog.names()]
        return [spec for spec in specs if spec is not None]

    def group(self, name: str) -> ModelGroupSpec:
        spec = self._catalog.spec(name)
        if spec is None:
            raise NotFound(f"model group {name!r} not found")
        return spec

    def _check(self, spec: ModelGroupSpec) -> None:
        listed = {d.model_name for d in self._config.model_list}
        unknown = [m for m in spec.members if isinstance(m, str) and m not in listed]
        if unknown:
            raise InvalidRequest(f"members {unknown} are not in the model_list", param="members")
        keys = spec.member_keys()
        if len(set(keys)) != len(keys):
            raise InvalidRequest("a deployment appears twice in the group", param="members")
        for config in inline_deployments([spec]):
            try:
                build_deployment(config, config.model_name)
            except Exception as exc:  # litellm raises bare exceptions for unknown providers
                raise InvalidRequest(
                    f"member {config.model_name!r}: litellm cannot use these params: {exc}",
                    param="members",
                ) from None

    async def put(self, actor: str, spec: ModelGroupSpec) -> ModelGroupSpec:
        """Create or replace a group; it takes effect without a restart."""
        self._check(spec)
        async with self._writer.change(
            actor=actor,
            action="model_group.put",
            target=f"model_group:{spec.name}",
            details=spec.model_dump(mode="json"),
            event=Change(ChangeKind.MODEL_GROUPS, spec.name),
        ) as write:
            await store.replace_model_group(write.conn, spec, write.now)
        return spec

    async def delete(self, actor: str, name: str) -> None:
        """Refused while a team uses the group as its default; removed from access lists."""
        async with self._writer.change(
            actor=actor,
            action="model_group.delete",
            target=f"model_group:{name}",
            event=Change(ChangeKind.MODEL_GROUPS, name),
        ) as write:
            defaulting = await store.teams_defaulting_to(write.conn, name)
            if defaulting:
                raise Conflict(f"model group {name!r} is the default of teams {defaulting}")
            if not await store.delete_model_group(write.conn, name):
                raise NotFound(f"model group {name!r} not found")
