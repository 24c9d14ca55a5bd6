"""The one TOML reader and writer of memcosim's configs.

:func:`load` reads a file into a :class:`TomlDocument` (the parsed tables and the line of every
key), applies the :class:`Rename` table of that kind of file (an old key is moved to its new place
with a :class:`ConfigWarning`, or refused with a message saying what it was renamed to), and fills
the config dataclass from the tables by the dataclass's type hints: a table becomes the dataclass
its field is typed with, a table of tables a ``dict[str, Dataclass]``, an array of tables a
``list[Dataclass]``; everything else is handed to the dataclass, whose ``__post_init__`` checks it.
Every error is a :class:`~memcosim.errors.ConfigError` naming the TOML key (``network.wires.r_row``)
and its line in the file. :func:`dumps` writes a config back so that :func:`load` gives an equal one.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from memcosim.errors import ConfigError
from memcosim.fileio import read_text_file

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

T = TypeVar("T")
KeyPath = tuple  # of str (table or key names) and int (index into an array of tables)


class ConfigWarning(UserWarning):
    """An old key of a config file was migrated to its new name (the message says which and where)."""


DROP = object()  # a Rename.convert result: the old key is dropped (its value means "absent")


@dataclass(frozen=True)
class Rename:
    """An old key and where its value lives now.

    ``old`` and ``new`` are dotted TOML paths; a ``*`` segment of ``old`` matches any one table name
    or array index and the same segment of ``new`` takes its value. ``new`` may name several keys
    (each gets the value). ``convert`` turns the old value into the new one (or :data:`DROP`).
    """

    old: str
    new: tuple[str, ...]
    convert: Callable[[Any], Any] | None = None

    def describe(self) -> str:
        return " and ".join(f"`{n}`" for n in self.new)


# -- reading ------------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[|\[)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*((?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*'))*)\s*=")


def _split_dotted(text: str) -> list[str]:
    parts = re.findall(r"\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_\-]+)", text)
    return [a or b or c for a, b, c in parts]


def _depth_change(line: str) -> int:
    """Net count of opening minus closing brackets and braces outside strings and comments."""
    depth, quote, k = 0, "", 0
    while k < len(line):
        ch = line[k]
        if quote:
            if quote == '"' and ch == "\\":
                k += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        k += 1
    return depth


def key_lines(text: str) -> dict[KeyPath, int]:
    """Line (1-based) of every table header and ``key = value`` of a TOML text, by key path.

    A key of the ``n``-th ``[[name]]`` table has the path ``(..., "name", n, "key")``. Keys inside
    inline tables and multi-line values are not listed (their enclosing key is)."""
    lines: dict[KeyPath, int] = {}
    counts: dict[KeyPath, int] = {}
    table: KeyPath = ()
    depth = 0
    multiline = ""
    for n, line in enumerate(text.splitlines(), 1):
        if multiline:
            if multiline in line:
                multiline = ""
            continue
        if depth == 0:
            m = _HEADER.match(line)
            if m and not _KEY.match(line):
                names = _split_dotted(m.group(2))
                parent = _resolve(tuple(names[:-1]), counts)
                if m.group(1) == "[[":
                    base = parent + (names[-1],)
                    counts[base] = counts.get(base, -1) + 1
                    table = base + (counts[base],)
                else:
                    table = parent + (names[-1],)
                lines.setdefault(table, n)
                continue
            m = _KEY.match(line)
            if m:
                lines.setdefault(table + tuple(_split_dotted(m.group(1))), n)
                rest = line[m.end():]
                for q in ('"""', "'''"):
                    if rest.count(q) == 1:
                        multiline = q
                depth += _depth_change(rest)
                continue
        depth = max(0, depth + _depth_change(line))
    return lines


def _resolve(names: KeyPath, counts: dict[KeyPath, int]) -> KeyPath:
    """A header's parent path with the current index of every array of tables on the way."""
    out: KeyPath = ()
    for name in names:
        out = out + (name,)
        if out in counts:
            out = out + (counts[out],)
    return out


@dataclass
class TomlDocument:
    """A parsed TOML file: its tables (``data``), the line of each key path, and its name for errors."""

    data: dict
    lines: dict[KeyPath, int]
    path: str = "<config>"

    def line(self, keypath: KeyPath) -> int | None:
        """The line of ``keypath``, or of its nearest enclosing table that has one."""
        keypath = tuple(keypath)
        while keypath:
            if keypath in self.lines:
                return self.lines[keypath]
            keypath = keypath[:-1]
        return None

    def where(self, keypath: KeyPath) -> str:
        n = self.line(keypath)
        return f"{self.path}, line {n}" if n is not None else self.path

    def error(self, keypath: KeyPath, message: str) -> ConfigError:
        """A ConfigError naming ``keypath`` (``network.wires.r_row``) and its line."""
        return ConfigError(dotted(keypath), f"{message} ({self.where(keypath)})")


def dotted(keypath: KeyPath) -> str:
    """``("points", 2, "size")`` as ``points[2].size``."""
    out = ""
    for part in keypath:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse(text: str, path: str = "<config>") -> TomlDocument:
    """Parse TOML ``text``; a syntax error is a ConfigError naming ``path`` (and tomllib's line)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"{path} is not valid TOML: {exc}") from None
    return TomlDocument(data, key_lines(text), path)


def read(path: str | Path, field: str = "config") -> TomlDocument:
    """Read and parse a TOML file; errors name ``field`` and the file."""
    return parse(read_text_file(path, field), str(path))


# -- renamed keys ---------------------------------------------------------------------------------

def _matches(data: object, pattern: list[str], at: KeyPath = ()) -> list[KeyPath]:
    """Key paths in ``data`` that match a dotted ``pattern`` (``*`` = any name or index)."""
    if not pattern:
        return [at]
    head, rest = pattern[0], pattern[1:]
    found: list[KeyPath] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if head in ("*", key):
                found += _matches(value, rest, at + (key,))
    elif isinstance(data, list) and head == "*":
        for k, value in enumerate(data):
            found += _matches(value, rest, at + (k,))
    return found


def _get(data: dict, keypath: KeyPath) -> object:
    for part in keypath:
        data = data[part]
    return data


def migrate(doc: TomlDocument, renames: Sequence[Rename], strict: bool = False) -> list[str]:
    """Move every old key of ``doc`` to its new place (a ConfigWarning each), or with ``strict``
    refuse the first one with a ConfigError saying what it was renamed to. Returns the messages."""
    messages = []
    for rename in renames:
        pattern = rename.old.split(".")
        for keypath in _matches(doc.data, pattern):
            message = f"`{dotted(keypath)}` was renamed to " + " and ".join(
                f"`{dotted(_fill_stars(n, keypath, pattern))}`" for n in rename.new)
            if strict:
                raise doc.error(keypath, message)
            parent = _get(doc.data, keypath[:-1])
            value = parent.pop(keypath[-1])
            value = rename.convert(value, parent) if rename.convert is not None else value
            line = doc.line(keypath)
            for new in rename.new:
                target = _fill_stars(new, keypath, pattern)
                if value is DROP:
                    continue
                node = doc.data
                for k, part in enumerate(target[:-1]):
                    if isinstance(part, int):
                        node = node[part]
                        continue
                    nxt = node.setdefault(part, {})
                    if not isinstance(nxt, (dict, list)):
                        raise doc.error(target[:k + 1], f"must be a table to take the renamed `{dotted(keypath)}`")
                    node = nxt
                if target[-1] in node:
                    raise doc.error(keypath, f"{message}, and the file also sets the new key: keep one")
                node[target[-1]] = value
                if line is not None:
                    doc.lines.setdefault(target, line)
            text = f"{doc.where(keypath)}: {message}; read as the new key (rename it in the file)"
            messages.append(text)
            warnings.warn(text, ConfigWarning, stacklevel=3)
    return messages


def _fill_stars(new: str, keypath: KeyPath, pattern: list[str]) -> KeyPath:
    """The new key path: the ``*`` segments of ``new`` take the matched names of the old path in order."""
    stars = [keypath[k] for k, p in enumerate(pattern) if p == "*"]
    out = []
    for part in new.split("."):
        out.append(stars.pop(0) if part == "*" and stars else part)
    return tuple(out)


# -- filling dataclasses ------------------------------------------------------------------------

def _options(hint: object) -> tuple:
    """The alternatives of a type hint (``A | B | None`` -> (A, B, NoneType))."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


def _dataclass_in(hint: object) -> type | None:
    for option in _options(hint):
        if isinstance(option, type) and dataclasses.is_dataclass(option):
            return option
    return None


def _container_of_dataclass(hint: object, origin: type) -> type | None:
    for option in _options(hint):
        if typing.get_origin(option) is origin:
            args = typing.get_args(option)
            inner = args[-1] if args else None
            if isinstance(inner, type) and dataclasses.is_dataclass(inner):
                return inner
    return None


def fill(cls: type[T], table: object, doc: TomlDocument, at: KeyPath = (), base: object = None) -> T:
    """An instance of dataclass ``cls`` from a TOML table at key path ``at`` of ``doc``.

    A key the table leaves out takes its value from ``base`` (an instance of ``cls``) when given, else the
    field's default; a sub-table whose field defaults to a dataclass instance starts from that instance
    (so ``[sgd.set]`` with only ``amplitude`` keeps the SGD pulse's own width). Unknown keys and values
    the dataclass refuses are ConfigErrors naming ``table.key`` and its line."""
    if not isinstance(table, dict):
        raise doc.error(at, f"must be a table, got {table!r}")
    hints = typing.get_type_hints(cls)
    fields = {fl.name: fl for fl in dataclasses.fields(cls) if fl.init}
    known = list(fields)
    kwargs: dict[str, object] = {} if base is None else {name: getattr(base, name) for name in known}
    for key, value in table.items():
        if key not in known:
            raise doc.error(at + (key,), f"unknown key; known keys: {', '.join(sorted(known))}")
        hint = hints.get(key)
        inner = _dataclass_in(hint)
        as_dict = _container_of_dataclass(hint, dict)
        as_list = _container_of_dataclass(hint, list)
        if inner is not None and isinstance(value, dict):
            start = kwargs.get(key) if base is not None else _default(fields[key])
            value = fill(inner, value, doc, at + (key,), start if isinstance(start, inner) else None)
        elif as_dict is not None and isinstance(value, dict):
            value = {name: fill(as_dict, v, doc, at + (key, name)) if isinstance(v, dict) else v
                     for name, v in value.items()}
        elif as_list is not None and isinstance(value, list):
            value = [fill(as_list, v, doc, at + (key, k)) if isinstance(v, dict) else v for k, v in enumerate(value)]
        elif inner is not None and _dataclass_in(hint) is not None and not _accepts_plain(hint, value):
            raise doc.error(at + (key,), f"must be a table ([{dotted(at + (key,))}]), got {value!r}")
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise relocate(exc, cls, table, doc, at) from None


def _default(fl: dataclasses.Field) -> object:
    """The default value of a dataclass field (None when it has none)."""
    if fl.default_factory is not dataclasses.MISSING:
        return fl.default_factory()
    return None if fl.default is dataclasses.MISSING else fl.default


def _accepts_plain(hint: object, value: object) -> bool:
    """True when a field typed ``hint`` may take the plain (non-table) TOML ``value``."""
    for option in _options(hint):
        if option is type(None):
            continue
        if isinstance(option, type) and dataclasses.is_dataclass(option):
            continue
        return True
    return False


def relocate(exc: ConfigError, cls: type, keys: dict, doc: TomlDocument, at: KeyPath) -> ConfigError:
    """``exc`` (raised by ``cls`` for a field it names its own way) as an error naming the TOML key
    path under ``at`` and its line."""
    if " (" in exc.message and ", line " in exc.message:  # already located by a nested fill
        return exc
    parts = [p for p in exc.field.split(".") if p]
    names = {fl.name for fl in dataclasses.fields(cls)}
    for k in range(len(parts)):
        first, _, index = parts[k].partition("[")
        if first in names:
            rel = [first] + ([int(index.rstrip("]"))] if index.rstrip("]").isdigit() else []) + parts[k + 1:]
            keypath = at + tuple(rel)
            line_at = keypath if first in keys else at
            n = doc.line(line_at)
            where = f"{doc.path}, line {n}" if n is not None else doc.path
            return ConfigError(dotted(keypath), f"{exc.message} ({where})")
    return ConfigError(dotted(at) or exc.field, f"{exc.field}: {exc.message} ({doc.where(at)})")


def from_dict(cls: type[T], data: dict, where: str = "", renames: Sequence[Rename] = ()) -> T:
    """An instance of dataclass ``cls`` from parsed tables ``data`` (the tables of a TOML file at key
    ``where``, or tables made in Python, e.g. by ``dataclasses.asdict``); errors name ``where.key``.
    ``renames`` (key paths relative to ``data``) migrate old keys as :func:`load` does."""
    at: KeyPath = tuple(where.split(".")) if where else ()
    root: dict = data
    for part in reversed(at):
        root = {part: root}
    doc = TomlDocument(root, {}, "<table>")
    prefix = f"{where}." if where else ""
    migrate(doc, [Rename(prefix + r.old, tuple(prefix + n for n in r.new), r.convert) for r in renames])
    return fill(cls, data, doc, at)


def located(exc: ConfigError, doc: TomlDocument, at: KeyPath = ()) -> ConfigError:
    """``exc``, whose field is a dotted key path under ``at`` (``device.params.vth``, ``sizes[2]``), with
    that key's line in ``doc``."""
    if " (" in exc.message and ", line " in exc.message:
        return exc
    keypath: list = list(at)
    for part in exc.field.split("."):
        name, _, index = part.partition("[")
        keypath.append(name)
        if index.rstrip("]").isdigit():
            keypath.append(int(index.rstrip("]")))
    return doc.error(tuple(keypath), exc.message)


def load(path: str | Path, cls: type[T], renames: Sequence[Rename] = (), strict: bool = False,
         field: str = "config") -> T:
    """Read the TOML file ``path`` into a validated ``cls`` (renamed keys migrated, see :func:`migrate`)."""
    doc = read(path, field)
    migrate(doc, renames, strict)
    return fill(cls, doc.data, doc)


def loads(text: str, cls: type[T], renames: Sequence[Rename] = (), strict: bool = False,
          path: str = "<config>") -> T:
    """Like :func:`load`, from TOML ``text``."""
    doc = parse(text, path)
    migrate(doc, renames, strict)
    return fill(cls, doc.data, doc)


# -- writing ------------------------------------------------------------------------------------

def value_text(v: object) -> str:
    """One TOML value: booleans, integers, floats (``repr``, lossless), strings, arrays (matrices one
    row per line)."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, np.ndarray):
        return value_text(v.tolist())
    if isinstance(v, (list, tuple)):
        if v and isinstance(v[0], (list, tuple, np.ndarray)):
            return "[\n" + "".join(f"  {value_text(row)},\n" for row in v) + "]"
        return "[" + ", ".join(value_text(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} to TOML")


def table_lines(obj: object, at: str = "", skip: Callable[[object, str], bool] | None = None) -> list[str]:
    """TOML lines of a dataclass (or a dict) at table ``at``: its values, then its sub-tables.

    ``None`` fields are left out; dataclass and dict fields become ``[at.name]`` tables (dicts of
    dataclasses ``[at.name.key]``; lists of dataclasses ``[[at.name]]``). ``skip(obj, name)`` leaves a
    field out."""
    if dataclasses.is_dataclass(obj):
        items = [(fl.name, getattr(obj, fl.name)) for fl in dataclasses.fields(obj)
                 if not (skip and skip(obj, fl.name))]
    else:
        items = sorted(obj.items())
    values, tables = [], []
    for name, v in items:
        if v is None:
            continue
        if isinstance(v, np.ndarray) and v.size and np.all(v == v.flat[0]):
            v = v.flat[0]  # a uniform matrix is written as its one value (read back broadcast)
        if dataclasses.is_dataclass(v) or isinstance(v, dict):
            tables.append((name, v))
        elif isinstance(v, list) and v and all(dataclasses.is_dataclass(x) for x in v):
            tables.append((name, v))
        else:
            values.append(f"{name} = {value_text(v)}")
    lines = list(values)
    for name, v in tables:
        sub = f"{at}.{name}" if at else name
        if isinstance(v, list):
            for item in v:
                lines += ["", f"[[{sub}]]"] + table_lines(item, sub, skip)
            continue
        body = table_lines(v, sub, skip)
        if not body or body[0] != "":  # the table has values of its own (or none at all)
            lines += ["", f"[{sub}]"]
        lines += body
    return lines


def dumps(obj: object, comment: str = "", skip: Callable[[object, str], bool] | None = None) -> str:
    """TOML text of a config dataclass that :func:`loads` reads back to an equal config."""
    lines = [f"# {c}" if c else "#" for c in comment.splitlines()] if comment else []
    body = table_lines(obj, "", skip)
    while body and body[0] == "":
        body.pop(0)
    return "\n".join(lines + body) + "\n"
