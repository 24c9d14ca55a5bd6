"""Checking SPICE files a user hands to memcosim: a block's ``.subckt`` file and the model libraries
it reads (``.lib FILE SECTION``, ``.include FILE``).

A netlist memcosim runs may read a file only when the file was declared for a block and passed
these checks: it exists, it is printable ASCII, and neither it nor any file it includes holds a
line that would run commands or change the run (``.control`` / ``.endc``, analyses such as
``.tran`` or ``.op``, ``.end``, ``.options``, ``.save``, ``.print`` ...). Every refusal is a
ConfigError naming the block, the file and the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from memcosim.errors import ConfigError

# Dot cards a model library or block file may hold: definitions only.
_DEFINITIONS = frozenset({".subckt", ".ends", ".model", ".param", ".lib", ".endl", ".include", ".inc",
                          ".global", ".func", ".csparam"})
_DOT = re.compile(r"[ \t]*(\.[A-Za-z_]+)")
_QUOTED = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|(\S+))\s*(\S*)""")


@dataclass(frozen=True)
class SubcktDefinition:
    """A ``.subckt`` found in a file: its name, pins in order, and the line it starts on."""

    name: str
    pins: tuple[str, ...]
    line: int


def _lines(path: Path, block: str) -> list[str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"blocks.{block}", f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"blocks.{block}", f"{path} line {line}: only ASCII text is allowed in a SPICE file") from None
    return text.splitlines()


def _included(argument: str) -> tuple[str, str]:
    """(file, section) of the text after ``.lib`` / ``.include``."""
    m = _QUOTED.match(argument)
    if not m:
        return "", ""
    return next(g for g in m.groups()[:3] if g is not None), m.group(4)


def check_spice_file(path: str | Path, block: str, _seen: frozenset[Path] = frozenset()) -> list[SubcktDefinition]:
    """Check the SPICE file ``path`` of block ``block`` and every file it includes (paths relative to
    the including file's folder); returns the ``.subckt`` definitions of ``path`` itself.

    A line outside the definition cards (``.control``, ``.endc``, an analysis, ``.end``,
    ``.option(s)``, ``.save``, ``.print``, ``.meas`` ...) is a ConfigError naming the block, the file
    and the line."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"blocks.{block}", f"{path} is not a file")
    if path in _seen:
        return []
    seen = _seen | {path}
    found: list[SubcktDefinition] = []
    lines = _lines(path, block)
    k = 0
    while k < len(lines):
        text = lines[k]
        number = k + 1
        k += 1
        while k < len(lines) and lines[k].lstrip().startswith("+"):  # continuation lines
            text += " " + lines[k].lstrip()[1:]
            k += 1
        if any(not (c.isprintable() or c == "\t") for c in text):
            raise ConfigError(f"blocks.{block}", f"{path} line {number}: control characters are not allowed")
        m = _DOT.match(text)
        if not m:
            continue
        card = m.group(1).lower()
        if card not in _DEFINITIONS:
            raise ConfigError(f"blocks.{block}",
                              f"{path} line {number}: {m.group(1)} is not allowed in a block's SPICE file (only "
                              "definitions: .subckt/.ends, .model, .param, .lib/.endl, .include; no control "
                              "blocks, analyses, options or .end)")
        rest = text[m.end():]
        if card == ".subckt":
            words = rest.split()
            if not words:
                raise ConfigError(f"blocks.{block}", f"{path} line {number}: .subckt without a name")
            pins = []
            for word in words[1:]:
                if "=" in word or word.lower() == "params:":
                    break
                pins.append(word)
            found.append(SubcktDefinition(words[0], tuple(pins), number))
        elif card in (".include", ".inc") or (card == ".lib" and len(rest.split()) >= 2):
            name, _ = _included(rest)
            if not name:
                raise ConfigError(f"blocks.{block}", f"{path} line {number}: {m.group(1)} without a file")
            target = (path.parent / name) if not Path(name).is_absolute() else Path(name)
            if not target.is_file():
                raise ConfigError(f"blocks.{block}", f"{path} line {number}: the included file {target} does not exist")
            check_spice_file(target, block, seen)
    return found


def check_library(path: str | Path, section: str, block: str) -> Path:
    """The absolute path of model library ``path`` for block ``block`` after :func:`check_spice_file`;
    with ``section``, the file must define ``.lib section``."""
    resolved = Path(path).resolve()
    check_spice_file(resolved, block)
    if section:
        pattern = re.compile(rf"^[ \t]*\.lib[ \t]+{re.escape(section)}[ \t]*$", re.IGNORECASE | re.MULTILINE)
        if not pattern.search(resolved.read_text(encoding="ascii")):
            raise ConfigError(f"blocks.{block}", f"{resolved} has no section '.lib {section}'")
    return resolved
