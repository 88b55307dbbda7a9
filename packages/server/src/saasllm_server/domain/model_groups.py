"""Model groups in memory: name → ordered members (the fallback chain).

Read on every call, changed rarely; admin changes reload it on this process.
"""

from __future__ import annotations

from saasllm_schema import ErrorCode, ModelGroupSpec
from saasllm_server.domain.tenancy import Principal
from saasllm_server.errors import InvalidRequest, ModelGroupNotFound, PermissionDenied


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
