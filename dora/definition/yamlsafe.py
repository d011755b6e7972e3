"""Safe YAML reading that keeps line/column for every value.

Why not ``yaml.safe_load``: it loses positions (users need ``FILE:LINE:COL``), expands
aliases without bound (a "billion laughs" document exhausts memory), silently accepts
duplicate keys (the last one wins, so a typo'd second ``tasks:`` hides the first) and
gives poor messages for tags. We ``compose`` the node graph (cheap: aliases stay
shared references) and build plain Python data ourselves with a budget on the number
of nodes produced, rejecting anything but the core schema's tags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from dora.errors import Problem

#: Largest definition file we read, in bytes. Real definitions are a few KiB.
MAX_DOCUMENT_BYTES = 1_000_000
#: Upper bound on values produced while expanding aliases (defeats alias bombs).
MAX_NODES = 50_000
#: Aliases are legitimate YAML but rare in definitions; too many is a red flag.
MAX_ALIASES = 200

_ALLOWED_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",
}

Path_ = tuple[str | int, ...]


@dataclass
class Located:
    """Parsed data plus where each value (and each mapping key) came from."""

    data: Any
    #: path -> (line, column), 1-based, for the *value* at that path
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    #: path -> (line, column) of the *key* that introduced the value at that path
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path_) -> tuple[int, int]:
        """Best position for a path: the key if known, else the value, else the nearest parent."""
        probe = tuple(path)
        while True:
            if probe in self.keys:
                return self.keys[probe]
            if probe in self.values:
                return self.values[probe]
            if not probe:
                return (1, 1)
            probe = probe[:-1]


class YamlProblems(Exception):
    """Raised with the located problems that prevented reading the document."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _pos(mark: yaml.Mark | None) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.count = 0
        self.aliases = 0
        self.problems: list[Problem] = []
        self.located = Located(data=None)

    def fail(self, node: yaml.Node, message: str, path: Path_ = ()) -> None:
        line, col = _pos(node.start_mark)
        self.problems.append(Problem(self.file, line, col, _dotted(path), message))

    def build(self, node: yaml.Node, path: Path_, seen: set[int]) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig(node)
        self.located.values.setdefault(path, _pos(node.start_mark))
        if node.tag not in _ALLOWED_TAGS:
            self.fail(node, f"tag {node.tag!r} is not allowed (only plain YAML values)", path)
            return None
        if isinstance(node, yaml.ScalarNode):
            return _SCALAR_LOADER.construct_object(node)
        if id(node) in seen:  # recursive alias (&a [*a]) would never end
            raise _TooBig(node)
        seen = seen | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), seen) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.fail(key_node, "merge keys ('<<') are not supported", path)
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    self.fail(key_node, "mapping keys must be plain strings", path)
                    continue
                key = key_node.value
                if key in out:
                    self.fail(key_node, f"duplicate key {key!r}", (*path, key))
                    continue
                self.located.keys[(*path, key)] = _pos(key_node.start_mark)
                out[key] = self.build(value_node, (*path, key), seen)
            return out
        self.fail(
            node, "unsupported YAML node", path
        )  # pragma: no cover - composer emits only 3 kinds
        return None


class _TooBig(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


class _CountingComposer(yaml.SafeLoader):
    """SafeLoader that counts aliases while composing, so bombs stop early."""

    alias_count = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                event = self.peek_event()
                raise yaml.MarkedYAMLError(
                    problem=f"more than {MAX_ALIASES} aliases: refusing a possible alias bomb",
                    problem_mark=event.start_mark,
                )
        return super().compose_node(parent, index)


_SCALAR_LOADER = yaml.SafeLoader("")


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_located(text: str, file: str) -> Located:
    """Parse one YAML document into plain data with positions, or raise ``YamlProblems``."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        raise YamlProblems(
            [Problem(file, 1, 1, "", f"file is {size} bytes; the limit is {MAX_DOCUMENT_BYTES}")]
        )
    if not text.strip():
        raise YamlProblems(
            [Problem(file, 1, 1, "", "file is empty; expected a 'workflow:' mapping")]
        )
    loader = _CountingComposer(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        line, col = _pos(exc.problem_mark or exc.context_mark)
        msg = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise YamlProblems([Problem(file, line, col, "", f"YAML syntax error: {msg}")]) from None
    except yaml.YAMLError as exc:
        raise YamlProblems([Problem(file, 1, 1, "", f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()
    if node is None:
        raise YamlProblems(
            [
                Problem(
                    file, 1, 1, "", "file is empty (only comments); expected a 'workflow:' mapping"
                )
            ]
        )
    builder = _Builder(file)
    try:
        data = builder.build(node, (), set())
    except _TooBig as big:
        line, col = _pos(big.node.start_mark)
        raise YamlProblems(
            [
                Problem(
                    file,
                    line,
                    col,
                    "",
                    f"document expands beyond {MAX_NODES} values "
                    "(alias bomb or recursive alias); refused",
                )
            ]
        ) from None
    if builder.problems:
        raise YamlProblems(builder.problems)
    builder.located.data = data
    return builder.located
