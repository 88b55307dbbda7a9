"""What a command produced, and how it reaches the terminal or a script.

Handlers build both views at once (the text is cheap), so ``--json`` is decided in
one place and no command can forget it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from pydantic import BaseModel

JSONData = BaseModel | Sequence[BaseModel] | Mapping[str, Any] | None

SECRET_WARNING = (
    "warning: this is the only time the secret is shown; store it now, it cannot be shown again."
)


@dataclass(frozen=True, slots=True)
class Output:
    """``text`` for people, ``data`` (schema models) for ``--json``.

    ``secret`` marks output holding a new key: the warning goes to stderr so that
    stdout stays exactly the table or the JSON a script expects.
    """

    text: str
    data: JSONData = None
    secret: bool = False


def jsonable(data: JSONData) -> Any:
    """The wire shape of the schema models: lists stay JSON arrays."""
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, Mapping):
        return {key: jsonable(value) for key, value in data.items()}
    if isinstance(data, Sequence) and not isinstance(data, str):
        return [jsonable(item) for item in data]
    return data


def emit(
    output: Output, *, as_json: bool, out: TextIO | None = None, err: TextIO | None = None
) -> None:
    out = out or sys.stdout
    err = err or sys.stderr
    if as_json:
        out.write(json.dumps(jsonable(output.data), indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(output.text.rstrip("\n") + "\n")
    out.flush()
    if output.secret:
        err.write(SECRET_WARNING + "\n")
