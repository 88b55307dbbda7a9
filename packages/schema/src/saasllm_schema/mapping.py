"""A pydantic base whose instances also read like dicts.

Code written against the documented client does ``delta.get("content", "")``,
``message["content"]`` and ``result.costs.get("total_cost_usd", 0)``; other code
uses attributes. One base class serves both without a second model family.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict


class MappingModel(BaseModel):
    """A model that answers ``get``, ``[]``, ``in``, ``keys`` like a read-only mapping."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def _present(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in type(self).model_fields}
        if self.__pydantic_extra__:
            data.update(self.__pydantic_extra__)
        return {k: v for k, v in data.items() if v is not None}

    def get(self, key: str, default: Any = None) -> Any:
        value = self._present().get(key)
        return default if value is None else value

    def __getitem__(self, key: str) -> Any:
        present = self._present()
        if key not in present:
            raise KeyError(key)
        return present[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._present()

    def keys(self) -> list[str]:
        return list(self._present())

    def items(self) -> list[tuple[str, Any]]:
        return list(self._present().items())

    def values(self) -> list[Any]:
        return list(self._present().values())

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        # Iterating like a mapping (keys) is what dict-style callers expect.
        return iter(self._present())

    def __len__(self) -> int:
        return len(self._present())
