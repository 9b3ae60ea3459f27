"""Reading a config file: JSON, a Python literal or YAML, into plain data.

The file may come from anywhere (a typo, a log, a binary, an alias bomb), so
reading is bounded in size, depth and time, and every failure is one sentence
naming the file; `config.validate` then checks what the data means.
"""

from __future__ import annotations

import ast
import os
import select
import stat
import time
import warnings
from typing import Any

from comet_optimize import jsontext, messages
from comet_optimize.echo import clip, show
from comet_optimize.errors import InvalidOptimizerParameters

MAX_FILE_BYTES = 256 * 1024
# No config needs more than five levels (spec, parameters, a parameter, values).
MAX_DEPTH = 32
# Values in a YAML document, its aliases expanded. (Reading YAML takes ~20 us
# a value, against ~2 us for JSON.)
MAX_YAML_VALUES = 20_000
# A pipe (``<(...)``, a FIFO) that nothing opens for writing is given up after
# PIPE_OPEN_SECONDS; a writer that is there but slow (a script that builds the config)
# is waited for up to PIPE_WRITER_SECONDS.
PIPE_OPEN_SECONDS = 10.0
PIPE_WRITER_SECONDS = 600.0

_BOMS = (  # longest first: a UTF-32 LE mark starts with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
)


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a config file written as JSON, a Python literal or YAML (by extension).

    The docs' own examples are Python literals with comments, trailing commas
    and True/False; Comet itself rejected JSON's true/false/null. We accept
    both, and never evaluate code. Whatever the file holds, the outcome is a
    mapping or one `InvalidOptimizerParameters` line, in bounded time and
    memory: size, nesting, YAML aliases and encodings are checked here.
    """
    path = os.fspath(path)
    try:
        data = _read_bounded(path)
    except OSError as error:
        raise InvalidOptimizerParameters(
            f"{path}: cannot read the config file ({error.strerror or error})"
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise InvalidOptimizerParameters(
            f"{path}: too large for a config file (the limit is {MAX_FILE_BYTES // 1024} KiB)"
        )
    text = _decode(path, data)
    if path.endswith((".yml", ".yaml")):
        parsed = _parse_yaml(path, text)
    else:
        parsed = _parse_json_or_literal(path, text)
    _check_depth(path, parsed)
    if not isinstance(parsed, dict):
        raise InvalidOptimizerParameters(
            f"{path}: the config must be a mapping with 'algorithm', 'spec' and "
            f"'parameters' (got a {type(parsed).__name__})"
        )
    return parsed


def _read_bounded(path: str) -> bytes:
    """At most ``MAX_FILE_BYTES + 1`` bytes of the file (a pipe's: `_read_pipe`). The
    open itself never waits: a FIFO nothing writes to kept open() waiting forever."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            with os.fdopen(os.dup(fd), "rb") as handle:
                return handle.read(MAX_FILE_BYTES + 1)
        return _read_pipe(path, fd)
    finally:
        os.close(fd)


def _read_pipe(path: str, fd: int) -> bytes:
    """A pipe's bytes until its writers close it, polled rather than read blocking: with
    no writer at all, or one that never closes the pipe, a blocking read waits forever.
    So each second without news asks whether a writer is there (a read then answers
    "would block"; with none, the end of the file): none for ``PIPE_OPEN_SECONDS`` is an
    error; one that is slow is waited for, up to ``PIPE_WRITER_SECONDS``, and what it
    sent is taken as soon as it reads as a whole JSON or Python config, should it keep
    the pipe open."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    chunks: list[bytes] = []
    size = 0
    start = time.monotonic()
    told = False
    while size <= MAX_FILE_BYTES:
        ready = poller.poll(1000)
        try:
            chunk = os.read(fd, MAX_FILE_BYTES + 1 - size)
        except BlockingIOError:
            chunk = None  # a writer is there, with nothing new
        if ready and chunk == b"":
            break  # every writer closed it: the config is whole
        waited = time.monotonic() - start
        if chunk == b"":  # no writer has opened it yet
            if waited >= PIPE_OPEN_SECONDS:
                raise InvalidOptimizerParameters(
                    f"{path}: nothing opened the pipe for writing within "
                    f"{PIPE_OPEN_SECONDS:g} s")
            continue
        if chunk:
            chunks.append(chunk)
            size += len(chunk)  # and a trickle is bounded in time as a silence is
        elif size and _reads_as_a_whole_config(path, b"".join(chunks)):
            break  # a second of silence after a whole config: its writer holds the pipe
        if waited >= PIPE_WRITER_SECONDS:
            raise InvalidOptimizerParameters(
                f"{path}: the pipe's writer sent {'no end of' if size else 'no'} config "
                f"within {PIPE_WRITER_SECONDS:g} s")
        if not told and waited >= PIPE_OPEN_SECONDS:
            told = True
            messages.info(f"waiting for the config from the pipe {path}: its writer is "
                          f"still at work (Ctrl-C stops)")
    return b"".join(chunks)


def _reads_as_a_whole_config(path: str, data: bytes) -> bool:
    """Whether a JSON or Python config is complete (a YAML document cut short may still
    parse, so it is never taken before its end)."""
    if path.endswith((".yml", ".yaml")):
        return False
    try:
        return isinstance(_parse_json_or_literal(path, _decode(path, data)), dict)
    except InvalidOptimizerParameters:
        return False


def _decode(path: str, data: bytes) -> str:
    """UTF-8, or UTF-8/16/32 with a byte-order mark; anything else is refused, not guessed."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding)
            except UnicodeDecodeError as error:
                raise InvalidOptimizerParameters(
                    f"{path}: not valid {encoding.upper()} text (bad bytes at offset "
                    f"{error.start + len(bom)})"
                ) from None
    if b"\x00" in data:
        raise InvalidOptimizerParameters(
            f"{path}: contains NUL bytes: a binary file, or UTF-16/32 without a byte-order "
            f"mark (save the config as UTF-8)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidOptimizerParameters(
            f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); "
            f"save the config as UTF-8"
        ) from None


def _too_deep(path: str) -> InvalidOptimizerParameters:
    return InvalidOptimizerParameters(
        f"{path}: nested more than {MAX_DEPTH} levels deep (a config needs about 5)")


def _check_depth(path: str, value: Any) -> None:
    """Refuse deep nesting without recursing, so later code may recurse freely."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.keys()) + list(item.values())
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            raise _too_deep(path)
        stack.extend((child, depth + 1) for child in children)


def _parse_yaml(path: str, text: str) -> Any:
    import yaml

    loader = _yaml_loader()
    try:
        _check_yaml_events(path, yaml.parse(text, Loader=loader))
        return yaml.load(text, Loader=loader)
    except _DuplicateKey as error:
        raise InvalidOptimizerParameters(
            f"{path}: line {error.line}: duplicate key {show(error.key)}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None)
        detail = f" ({clip(problem)})" if problem else ""
        raise InvalidOptimizerParameters(f"{path}: not valid YAML{where}{detail}") from None
    except (ValueError, OverflowError, RecursionError) as error:
        # e.g. an integer of more than 4300 digits, which Python refuses to convert
        raise InvalidOptimizerParameters(
            f"{path}: not a usable YAML value ({clip(str(error))})") from None


def _check_yaml_events(path: str, events: Any) -> None:
    """Measure the document as its aliases would expand it, before anything is built.

    One pass over the parser's events (no recursion, nothing constructed): an
    alias counts the values and depth of the node it repeats, so a "billion
    laughs" document is refused after a few lines, and an alias to a node that
    contains it (a cycle) is refused outright.
    """
    import yaml

    done: dict[str, tuple[int, int]] = {}  # anchor -> (values, depth) of its node
    open_nodes: list[list] = [[None, 0, 0]]  # [anchor, values before it, deepest child]
    total = 0  # values so far, aliases expanded

    for event in events:
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, yaml.ScalarEvent):
            anchor, size, depth = event.anchor, 1, 1
        elif isinstance(event, yaml.AliasEvent):
            if any(node[0] == event.anchor for node in open_nodes):
                raise InvalidOptimizerParameters(
                    f"{path}: line {line}: the alias *{clip(event.anchor)} refers to a "
                    f"node that contains it")
            anchor, (size, depth) = None, done.get(event.anchor, (1, 1))
        elif isinstance(event, yaml.CollectionStartEvent):
            open_nodes.append([event.anchor, total, 0])
            if len(open_nodes) - 1 > MAX_DEPTH:
                raise _too_deep(path)
            continue
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, before, deepest = open_nodes.pop()
            size, depth = total + 1 - before, deepest + 1
            total -= size - 1  # re-added below, with the node itself
        else:
            continue
        total += size
        if total > MAX_YAML_VALUES:
            raise InvalidOptimizerParameters(
                f"{path}: line {line}: more than {MAX_YAML_VALUES} values in a YAML config "
                f"(aliases expanded)")
        if len(open_nodes) - 1 + depth > MAX_DEPTH:
            raise _too_deep(path)
        parent = open_nodes[-1]
        parent[2] = max(parent[2], depth)
        if anchor is not None:
            done[anchor] = (size, depth)


_YAML_LOADER = None


def _yaml_loader() -> type:
    """A safe loader (libyaml's when present) that refuses duplicate keys."""
    global _YAML_LOADER
    if _YAML_LOADER is not None:
        return _YAML_LOADER
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict:
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # merged keys may be overridden: that is what '<<' is for
                key = self.construct_object(key_node, deep=False)
                try:
                    if key in seen:
                        raise _DuplicateKey(key, key_node.start_mark.line + 1)
                    seen.add(key)
                except TypeError:
                    pass  # unhashable: construct_mapping below says so
            return super().construct_mapping(node, deep=deep)

    _YAML_LOADER = Loader
    return Loader


def _parse_json_or_literal(path: str, text: str) -> Any:
    try:
        return jsontext.parse_with(text, _json_object)
    except _DuplicateKey as error:
        raise InvalidOptimizerParameters(f"{path}: duplicate key {show(error.key)}") from None
    except RecursionError:
        raise _too_deep(path) from None
    except ValueError:
        pass
    try:
        with warnings.catch_warnings():
            # "C:\logs" in a Python-literal config: Python keeps the backslash, and its
            # warning about the escape (a SyntaxWarning on 3.12) is no business of the user's
            warnings.simplefilter("ignore")
            tree = ast.parse(text.strip() or "None", mode="eval")
    except SyntaxError as error:
        raise InvalidOptimizerParameters(
            f"{path}: not valid JSON or a Python literal (syntax error at line "
            f"{error.lineno}: {clip(error.msg)})"
        ) from None
    except (RecursionError, MemoryError):
        raise _too_deep(path) from None
    except ValueError as error:
        raise InvalidOptimizerParameters(
            f"{path}: not valid JSON or a Python literal ({clip(str(error))})") from None
    return _literal(path, text, tree.body)


class _DuplicateKey(Exception):
    """Raised from inside a parser's callback; the caller turns it into one line."""

    def __init__(self, key: Any, line: int | None = None):
        super().__init__(key)
        self.key, self.line = key, line


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


_NAMED_CONSTANTS = {"True": True, "False": False, "None": None,
                    "true": True, "false": False, "null": None}


def _literal(path: str, text: str, node: ast.AST) -> Any:
    """A literal_eval that also knows JSON's true/false/null and refuses duplicate keys."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMED_CONSTANTS:
        return _NAMED_CONSTANTS[node.id]
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise InvalidOptimizerParameters(f"{path}: '**' is not allowed in a config")
        out = {}
        for key_node, value_node in zip(node.keys, node.values):
            key = _literal(path, text, key_node)
            if isinstance(key, (list, dict)):
                raise InvalidOptimizerParameters(
                    f"{path}: line {key_node.lineno}: a key must be a string or a number "
                    f"(found {_snippet(text, key_node)})"
                )
            if key in out:
                raise InvalidOptimizerParameters(
                    f"{path}: line {key_node.lineno}: duplicate key {show(key)}")
            out[key] = _literal(path, text, value_node)
        return out
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(path, text, item) for item in node.elts]
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))
            and not isinstance(node.operand.value, bool)):
        value = node.operand.value
        return -value if isinstance(node.op, ast.USub) else value
    raise InvalidOptimizerParameters(
        f"{path}: line {getattr(node, 'lineno', '?')}: only literals are allowed in a config "
        f"(found {_snippet(text, node)})"
    )


def _snippet(text: str, node: ast.AST) -> str:
    """The offending source on one line, cut short (never re-rendered from a deep tree)."""
    segment = ast.get_source_segment(text, node) or type(node).__name__
    return repr(clip(segment))


# ---------------------------------------------------------------- validation

# Sizes have limits, named in the messages. A grid axis, and the samples it is
# estimated from, are computed in every process of a search; a suggestion may
# try `retryLimit` draws one after another.
