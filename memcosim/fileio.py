"""Output files: atomic writes (a reader sees the old file or the new one, never a partial one) that
follow the process umask, and the check that an output folder can be written before any work starts."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

from memcosim.errors import ConfigError


def _umask() -> int:
    """The process umask (read without changing it where /proc allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The file gets the mode a plain ``open(path, "w")`` would give it (0666 less the umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically to ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(path: str | os.PathLike, rows: list[dict], columns: list[str] | None = None) -> Path:
    """Write ``rows`` atomically to ``path`` as a CSV table: one line per row under a header of ``columns``
    (default: every key of the rows, in the order they first appear); a missing value is an empty cell."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns if columns is not None else list(dict.fromkeys(k for r in rows for k in r)))
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, buf.getvalue())


def read_text_file(path: str | os.PathLike, field: str) -> str:
    """The UTF-8 text of ``path``; ConfigError naming ``field`` and the file if it cannot be read."""
    path = Path(path)
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(field, f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(field, f"{path} is not UTF-8 text") from None


def writable_folder(field: str, folder: str | os.PathLike) -> Path:
    """``folder``, made if missing, after writing and removing a probe file in it.

    ConfigError naming ``field`` when a part of the path is a file, the folder cannot be made, or a
    file cannot be created in it (permissions, a read-only file system): checked before any work,
    so a run never computes results it cannot save.
    """
    if not isinstance(folder, (str, os.PathLike)) or not str(folder) or not str(folder).isprintable():
        raise ConfigError(field, f"must be a folder path of printable characters, got {folder!r}")
    path = Path(folder)
    for part in (path, *path.parents):
        if part.exists() and not part.is_dir():
            where = "is a file" if part == path else f"cannot be made: {part} is a file"
            raise ConfigError(field, f"{path} {where}, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".memcosim-probe.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(field, f"cannot write into {path}: {exc.strerror or exc}") from None
    return path


def writable_file(field: str, file: str | os.PathLike) -> Path:
    """``file`` if it can be written: not a folder, and its folder passes :func:`writable_folder`."""
    if not isinstance(file, (str, os.PathLike)) or not str(file) or not str(file).isprintable():
        raise ConfigError(field, f"must be a file path of printable characters, got {file!r}")
    path = Path(file)
    if path.is_dir():
        raise ConfigError(field, f"{path} is a folder, not a file")
    writable_folder(field, path.parent)
    return path


def save_png(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write matplotlib figure ``fig`` to ``path`` as a PNG (``dpi`` dots per inch) atomically, then close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())
