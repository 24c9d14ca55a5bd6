"""What memcosim reads from Verilog-A source text: the included files and the parameter declarations.

The compiled model is the authority on parameter values (:mod:`memcosim.devices.osdi_table`). The
text is read for what the compiled library does not say: which files a model is built from (the
compiled-model cache key covers all of them), and where each parameter is declared (file and line),
so that an error about a parameter can point at its declaration. :func:`evaluate_default` evaluates a
constant default expression (numbers with Verilog-A scale factors, arithmetic, the standard math
functions, earlier parameters) to say *why* a default cannot be evaluated when the compiler fails on
it.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from pathlib import Path

from memcosim.errors import ModelError

# Headers OpenVAF provides itself (they need not exist on disk).
STANDARD_HEADERS = frozenset({"disciplines.vams", "constants.vams"})

_LEXEME = re.compile(r'"(?:\\.|[^"\\\n])*"|//[^\n]*|/\*.*?\*/', re.DOTALL)
_INCLUDE = re.compile(r'`include\s+"([^"\n]+)"')
_PARAMETER = re.compile(r"\bparameter\b(.*?);", re.DOTALL)
_TYPE = re.compile(r"\s*(?:real|integer|string)\b")
# a declared name: an identifier followed by '=' that is not part of ==, <=, >=, !=
_DECLARED = re.compile(r"(?<![=<>!\w])([A-Za-z_]\w*)\s*=(?!=)")
_RANGE = re.compile(r"\b(?:from|exclude)\b")
# Verilog-A scale factors (IEEE 1800-2017 / Verilog-AMS LRM 2.6.1): M is mega, not milli.
SCALE = {"T": 1e12, "G": 1e9, "M": 1e6, "K": 1e3, "k": 1e3, "m": 1e-3, "u": 1e-6, "n": 1e-9,
         "p": 1e-12, "f": 1e-15, "a": 1e-18}
_NUMBER = re.compile(r"(?<![\w.$`])((?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)([TGMKkmunpfa])?(?![\w.])")
_SPICE_MEG = re.compile(r"(?<![\w.])(?:\d+\.?\d*|\.\d+)meg\b", re.IGNORECASE)


@dataclass(frozen=True)
class Declaration:
    """Where a parameter is declared: ``file``, 1-based ``line``, and its default expression as written."""

    name: str
    file: Path
    line: int
    default: str

    @property
    def where(self) -> str:
        """``file:line`` of the declaration."""
        return f"{self.file}:{self.line}"


def without_comments(text: str) -> str:
    """``text`` with every comment blanked (line breaks kept, so line numbers stay right)."""

    def blank(m: re.Match) -> str:
        s = m.group()
        return s if s.startswith('"') else re.sub(r"[^\n]", " ", s)

    return _LEXEME.sub(blank, text)


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def include_files(source: Path) -> tuple[Path, ...]:
    """Every file ``source`` includes, directly or through other includes, in the order first met.

    An include is looked up next to the file that includes it, then next to ``source`` (the compiler
    is run with ``-I`` on that folder). The compiler's own headers (``disciplines.vams``,
    ``constants.vams``) need not exist. A missing file is a ModelError naming the including file
    and line.
    """
    root = Path(source).resolve()
    found: list[Path] = []
    pending = [root]
    seen = {root}
    while pending:
        current = pending.pop(0)
        try:
            text = without_comments(current.read_text(errors="replace"))
        except OSError as exc:
            raise ModelError(f"cannot read Verilog-A file {current}: {exc}") from exc
        for m in _INCLUDE.finditer(text):
            name = m.group(1)
            candidates = [current.parent / name, root.parent / name]
            hit = next((c.resolve() for c in candidates if c.is_file()), None)
            if hit is None:
                if name in STANDARD_HEADERS:
                    continue
                looked = ", ".join(dict.fromkeys(str(c.parent) for c in candidates))
                raise ModelError(f"{current}:{_line(text, m.start())}: `include \"{name}\" not found "
                                 f"(looked in {looked})")
            if hit not in seen:
                seen.add(hit)
                found.append(hit)
                pending.append(hit)
    return tuple(found)


def declarations(files: tuple[Path, ...]) -> dict[str, Declaration]:
    """Every ``parameter`` declared in ``files`` (name -> first declaration), in declaration order."""
    out: dict[str, Declaration] = {}
    for path in files:
        text = without_comments(Path(path).read_text(errors="replace"))
        for statement in _PARAMETER.finditer(text):
            body = statement.group(1)
            start = statement.start(1)
            typed = _TYPE.match(body)
            offset = typed.end() if typed else 0
            names = list(_DECLARED.finditer(body, offset))
            for k, m in enumerate(names):
                end = names[k + 1].start() if k + 1 < len(names) else len(body)
                expr = body[m.end():end]
                cut = _RANGE.search(expr)
                expr = (expr[: cut.start()] if cut else expr).strip().rstrip(",").strip()
                decl = Declaration(m.group(1), Path(path), _line(text, start + m.start()), expr)
                out.setdefault(decl.name, decl)
    return out


def spice_meg_lines(files: tuple[Path, ...]) -> list[str]:
    """``file:line`` of every number written with SPICE's ``meg`` suffix (Verilog-A writes ``1M``)."""
    hits = []
    for path in files:
        text = without_comments(Path(path).read_text(errors="replace"))
        hits += [f"{path}:{_line(text, m.start())}" for m in _SPICE_MEG.finditer(text)]
    return hits


_FUNCTIONS = {
    "ln": math.log, "log": math.log10, "exp": math.exp, "sqrt": math.sqrt, "pow": math.pow,
    "abs": abs, "min": min, "max": max, "floor": math.floor, "ceil": math.ceil,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos,
    "atan": math.atan, "atan2": math.atan2, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
    "hypot": math.hypot,
}


class NotConstant(Exception):
    """The expression uses something :func:`evaluate_default` does not evaluate (macros, system functions ...)."""


def evaluate_default(expr: str, known: dict[str, float]) -> float:
    """Value of a constant default expression; ``known`` holds the values of parameters declared before it.

    Numbers may carry Verilog-A scale factors (``3n``, ``1k``, ``2.5u``, ``1M``). Raises
    ArithmeticError or ValueError when the expression cannot be evaluated (division by zero, a
    logarithm of a negative number ...), NotConstant when it uses anything else.
    """
    text = _NUMBER.sub(lambda m: f"({float(m.group(1)) * SCALE.get(m.group(2) or '', 1.0)!r})", expr)
    if "**" in text:
        raise NotConstant(expr)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise NotConstant(expr) from None
    value = _eval(tree.body, known)
    if not math.isfinite(value):
        raise ArithmeticError(f"evaluates to {value}")
    return float(value)


def _eval(node: ast.AST, known: dict[str, float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in known:
            return known[node.id]
        raise NotConstant(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        v = _eval(node.operand, known)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        a, b = _eval(node.left, known), _eval(node.right, known)
        if isinstance(node.op, ast.Div):
            if b == 0:
                raise ZeroDivisionError("division by zero")
            return a / b
        return a + b if isinstance(node.op, ast.Add) else a - b if isinstance(node.op, ast.Sub) else a * b
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords:
        args = [_eval(a, known) for a in node.args]
        try:
            return float(_FUNCTIONS[node.func.id](*args))
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"{node.func.id}() of {', '.join(map(repr, args))}: {exc}") from None
    raise NotConstant(ast.dump(node))
