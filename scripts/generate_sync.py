"""Write the SDK's blocking twins from their async sources.

Each sync module is its async source with only the I/O swapped, in the manner
of ``unasync``: word-boundary regex rules turn ``async def`` into ``def``,
``await x`` into ``x``, ``asyncio.sleep`` into ``time.sleep``, the async names
into their sync twins, and then the import block is re-sorted as ruff's isort
would, without the names the rules made unused. Edit the async source, then run::

    python scripts/generate_sync.py          # write the twins
    python scripts/generate_sync.py --check  # exit 1 with a diff if one is stale
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

SDK = Path(__file__).resolve().parents[1] / "packages" / "sdk" / "src" / "saasllm"
LINE_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Twin:
    source: str
    target: str

    @property
    def header(self) -> str:
        return f"# Generated from {self.source} by scripts/generate_sync.py; do not edit.\n"


TWINS = (
    Twin("_closing.py", "_sync_closing.py"),
    Twin("_api_client.py", "_sync_api_client.py"),
    Twin("_stream.py", "_sync_stream.py"),
    Twin("_client.py", "_sync_client.py"),
    Twin("_admin.py", "_sync_admin.py"),
)

# Our async names and their blocking twins.
NAMES = {
    "AsyncClosing": "Closing",
    "AsyncAPIClient": "SyncAPIClient",
    "AsyncChatStream": "ChatStream",
    "SaaSLLMClient": "SyncSaaSLLMClient",
    "SaaSLLMAdmin": "SyncSaaSLLMAdmin",
}

_BRACKETED = r"((?:[^\[\]]|\[[^\[\]]*\])*)"  # a type argument, with one level of nesting

# Applied in order, to every twin.
RULES: list[tuple[str, str]] = [
    (r"^import asyncio$", "import time"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\basync (def|with|for)\b", r"\1"),
    (r"\bawait ", ""),
    # The blocking method is ``close`` itself, not an alias of ``aclose``.
    (r"\n *close = aclose\n", ""),
    # ``for x in y: yield x``, which an async generator must spell out, is ``yield from y``.
    (r"^( *)for (\w+) in ([^\n]+):\n\1    yield \2\n", r"\1yield from \3\n"),
    (r"\baclose\b", "close"),
    (r"\baread\b", "read"),
    (r"\baiter_bytes\b", "iter_bytes"),
    (r"\b__a(enter|exit|iter|next)__\b", r"__\1__"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\bAsyncGenerator\[" + _BRACKETED + r", None\]", r"Generator[\1, None, None]"),
    (r"\bAsyncGenerator\b", "Generator"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAwaitable\[" + _BRACKETED + r"\]", r"\1"),
    (r"\bhttpx\.AsyncClient\b", "httpx.Client"),
    *((rf"\b{name}\b", twin) for name, twin in NAMES.items()),
    *((rf"\bsaasllm\.{t.source[:-3]}\b", f"saasllm.{t.target[:-3]}") for t in TWINS),
    # Prose left once the code is converted: "the async client", "its methods are coroutines".
    (r"\bAsync(?= [a-z])", "Blocking"),
    (r"\basync(?= [a-z])", "blocking"),
    (r"\bcoroutines\b", "blocking calls"),
]
_COMPILED = [(re.compile(pattern, re.MULTILINE), new) for pattern, new in RULES]


def unasync(source: str) -> str:
    for pattern, new in _COMPILED:
        source = pattern.sub(new, source)
    return source


# --- the import block, as ruff's isort writes it ------------------------------------


@dataclass(slots=True)
class _Import:
    module: str
    names: list[str]  # empty for ``import module``

    def render(self) -> str:
        if not self.names:
            return f"import {self.module}\n"
        line = f"from {self.module} import {', '.join(self.names)}\n"
        if len(line) - 1 <= LINE_LENGTH:
            return line
        inner = "".join(f"    {name},\n" for name in self.names)
        return f"from {self.module} import (\n{inner})\n"


_IMPORT = re.compile(r"^(?:import (?P<plain>[\w.]+)|from (?P<module>[\w.]+) import )", re.M)


def _bound_name(name: str) -> str:
    return name.split(" as ")[-1]


def _name_order(name: str) -> tuple[int, str, str]:
    # Constants, then classes, then everything else (ruff's order-by-type).
    bound = name.split(" as ")[0]
    kind = 0 if bound.isupper() and len(bound) > 1 else 1 if bound[:1].isupper() else 2
    return kind, bound.lower(), bound


def _parse_block(lines: list[str]) -> list[_Import]:
    text = "".join(lines)
    imports: list[_Import] = []
    for match in _IMPORT.finditer(text):
        if match["plain"]:
            imports.append(_Import(match["plain"], []))
            continue
        rest = text[match.end() :]
        names = rest[1 : rest.index(")")] if rest.startswith("(") else rest.split("\n", 1)[0]
        imports.append(_Import(match["module"], [n.strip() for n in names.split(",") if n.strip()]))
    return imports


def tidy_imports(source: str) -> str:
    """Sort each section of the top import block, dropping names the body no longer uses."""
    lines = source.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if _IMPORT.match(line))
    end = start
    for i in range(start, len(lines)):
        line = lines[i]
        if line.strip() and not (_IMPORT.match(line) or line.startswith((" ", ")"))):
            break
        end = i + 1
    while not lines[end - 1].strip():
        end -= 1
    body = "".join(lines[end:])
    sections: list[list[str]] = [[]]
    for line in lines[start:end]:
        if line.strip():
            sections[-1].append(line)
        else:
            sections.append([])
    rendered: list[str] = []
    for section in sections:
        imports = []
        for imp in _parse_block(section):
            used = [
                n
                for n in imp.names
                if imp.module == "__future__" or re.search(rf"\b{_bound_name(n)}\b", body)
            ]
            if imp.names and not used:
                continue
            imports.append(_Import(imp.module, sorted(set(used), key=_name_order)))
        imports.sort(key=lambda imp: (bool(imp.names), imp.module.lower()))
        if imports:
            rendered.append("".join(imp.render() for imp in imports))
    return "".join(lines[:start]) + "\n".join(rendered) + "".join(lines[end:])


# --- the command ----------------------------------------------------------------------


def render(twin: Twin, sdk: Path = SDK) -> str:
    return twin.header + tidy_imports(unasync((sdk / twin.source).read_text()))


def stale(sdk: Path = SDK) -> dict[Twin, str]:
    """The twins that differ from what their sources generate, each with a unified diff."""
    diffs: dict[Twin, str] = {}
    for twin in TWINS:
        path = sdk / twin.target
        actual = path.read_text() if path.exists() else ""
        expected = render(twin, sdk)
        if actual != expected:
            diffs[twin] = "".join(
                difflib.unified_diff(
                    actual.splitlines(keepends=True),
                    expected.splitlines(keepends=True),
                    fromfile=f"{twin.target} (on disk)",
                    tofile=f"{twin.target} (generated from {twin.source})",
                )
            )
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a twin is out of date"
    )
    args = parser.parse_args(argv)
    diffs = stale()
    if args.check:
        if not diffs:
            return 0
        sys.stdout.write("".join(diffs.values()))
        print(f"{len(diffs)} generated file(s) out of date: run python scripts/generate_sync.py")
        return 1
    for twin in diffs:
        (SDK / twin.target).write_text(render(twin))
        print(f"wrote packages/sdk/src/saasllm/{twin.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
