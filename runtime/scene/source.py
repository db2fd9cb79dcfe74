"""YAML with line numbers: `safe_load` semantics, plus where every value came from.

The compiler reports errors as ``file:line field.path: message``; PyYAML's plain loaders
forget positions, so we compose the node tree (the safe loader, never arbitrary tags),
build ordinary Python values from it, and keep a map from field path to line.

Hostile input is bounded here (see `SceneLimits`): the text's size, the nesting depth
(checked while composing, so PyYAML's recursive composer never goes deep), and the
number of values built, which caps alias and merge-key (``<<``) expansion: a "billion
laughs" document fails after ``max_yaml_nodes`` values, in bounded time and memory.
Building is recursive only up to ``max_yaml_depth`` levels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

import yaml

from .limits import DEFAULT_LIMITS, SceneLimits

Path = tuple[str | int, ...]

_MERGE = "tag:yaml.org,2002:merge"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Source:
    """The parsed document and the 1-based line of every key and value in it."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    duplicates: list[tuple[Path, int]] = field(default_factory=list)

    def line(self, path: Path) -> int | None:
        """Line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


class YamlSyntaxError(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing to compose deeper than ``max_depth`` levels."""

    max_depth = DEFAULT_LIMITS.max_yaml_depth
    _depth = 0

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                line = self.peek_event().start_mark.line + 1
                raise YamlSyntaxError(f"nested more than {self.max_depth} levels deep (the "
                                      f"limit for a scene)", line)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def parse_yaml(text: str, limits: SceneLimits = DEFAULT_LIMITS) -> Source:
    """Parse ``text`` (one YAML document) with the safe loader, keeping line numbers.
    Raises YamlSyntaxError (with a line where known) for bad YAML or a broken limit."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise YamlSyntaxError(f"scene is {size} bytes, over the limit of {limits.max_bytes} "
                              f"bytes", None)
    loader = None
    try:
        # The reader checks characters on construction: inside the try, so control
        # characters or U+FFFE become a line-numbered error.
        loader = _Loader(text)
        loader.max_depth = limits.max_yaml_depth
        node = loader.get_single_node()
        if node is None:
            return Source(None, {(): 1})
        source = Source(None)
        source.data = _Builder(loader, source, limits).build(node, ())
        return source
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        raise YamlSyntaxError(f"YAML syntax error: {problem}", line) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        what = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise YamlSyntaxError(f"YAML error: character {what} is not allowed in a scene "
                              f"(control characters and non-characters such as U+FFFE)",
                              line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"YAML error: {exc}", None) from None
    except RecursionError:  # not reachable within the limits; never an INTERNAL error
        raise YamlSyntaxError("YAML error: the document is nested too deeply", None) from None
    except (ValueError, OverflowError) as exc:
        # PyYAML's scanner lets a few of these through, e.g. chr() of an escape such as
        # "\U7fffffff" beyond Unicode. Found by the fuzzing campaign (benchmarks/fuzz.py).
        line = loader.line + 1 if loader is not None else None
        raise YamlSyntaxError(f"YAML error: cannot read this document ({exc})", line) from None
    finally:
        if loader is not None:
            loader.dispose()


class _Builder:
    """Nodes -> Python values, counting every value built (aliases count each time)."""

    def __init__(self, loader: yaml.SafeLoader, source: Source, limits: SceneLimits) -> None:
        self.loader = loader
        self.source = source
        self.limits = limits
        self.count = 0
        self.merge_depth = 0

    def _fail(self, message: str, node: yaml.Node) -> NoReturn:
        raise YamlSyntaxError(message, node.start_mark.line + 1)

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > self.limits.max_yaml_nodes:
            self._fail(f"the scene expands to more than {self.limits.max_yaml_nodes} values "
                       f"(aliases and '<<' merges count each time they are used)", node)
        if len(path) > self.limits.max_yaml_depth:
            self._fail(f"nested more than {self.limits.max_yaml_depth} levels deep "
                       f"(a self-referencing alias?)", node)
        self.source.lines.setdefault(path, node.start_mark.line + 1)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
            # Scalars go through the safe constructor (which rejects unknown tags); we build
            # collections ourselves, so refuse their tags here: no !!python/... ever.
            raise yaml.constructor.ConstructorError(
                None, None, f"unsupported tag {node.tag!r}", node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag in _NUMBER_TAGS:
            digits = sum(c.isdigit() for c in node.value)
            if digits > self.limits.max_number_digits:
                self._fail(f"a number with {digits} digits (at most "
                           f"{self.limits.max_number_digits})", node)
        elif len(node.value) > self.limits.max_bytes:
            self._fail("a value over the scene size limit", node)
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # e.g. a date out of range
            self._fail(f"cannot read this value: {exc}", node)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain name", key_node.start_mark)
            if key_node.tag == _MERGE:
                merges.extend(value_node.value if isinstance(value_node, yaml.SequenceNode)
                              else [value_node])
                continue
            # Keys are names: keep their text as written. (YAML 1.1 would turn `on:` or
            # `no:` into booleans, a classic trap for an input called "on".)
            key = key_node.value
            child = (*path, key)
            if key in out:
                self.source.duplicates.append((child, key_node.start_mark.line + 1))
            self.source.lines[child] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, child)
        for item in merges:
            self._merge(item, path, out)
        return out

    def _merge(self, node: yaml.Node, path: Path, out: dict[Any, Any]) -> None:
        """YAML merge keys (``<<: *base``), expanded here rather than by PyYAML's
        flatten_mapping (whose copies nobody counts): explicit keys win, then earlier
        merges. Lines of merged values point at where they were written."""
        if not isinstance(node, yaml.MappingNode):
            self._fail("'<<' merges a mapping (or a list of mappings)", node)
        self.count += 1
        self.merge_depth += 1
        if self.merge_depth > self.limits.max_yaml_depth:
            self._fail(f"'<<' merges chained more than {self.limits.max_yaml_depth} deep", node)
        lines, self.source.lines = self.source.lines, {}
        try:
            extra = self._mapping(node, path)
        finally:
            built, self.source.lines = self.source.lines, lines
            self.merge_depth -= 1
        fresh = {key for key in extra if key not in out}
        for key in fresh:
            out[key] = extra[key]
        depth = len(path)
        for where, line in built.items():
            if len(where) > depth and where[depth] in fresh:
                lines.setdefault(where, line)
