"""Write files so that a reader only ever sees the old content or the complete new content.

Every artifact goes to a temporary file in the same directory, is flushed and fsynced,
and is then renamed over the target (``os.replace`` is atomic on POSIX and Windows when
both names are on one file system, which the shared directory guarantees). If anything
fails midway -- an exception from the data source, a full disk, Ctrl-C -- the temporary
file is removed and the target is left exactly as it was.

A write that fails for the file system's sake (a full disk, a lost permission) raises
:class:`ArtifactWriteError`, whose message is one line naming the file, so the command
can say it and exit instead of printing a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["ArtifactWriteError", "write_bytes_atomic", "write_chunks_atomic",
           "write_text_atomic"]


class ArtifactWriteError(OSError):
    """An artifact could not be written; ``str()`` is one line naming the file and why.

    An ``OSError`` still (same ``errno``), so handlers of ``OSError`` keep working.
    """

    def __init__(self, path: str | os.PathLike[str], cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.path = Path(path)

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.strerror}"


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (parent directories are created)."""
    write_chunks_atomic(path, (data,))


def write_text_atomic(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` atomically.

    The text is written as is: no newline translation, so ``\\r\\n`` in a CSV stays
    ``\\r\\n`` on every platform.
    """
    write_chunks_atomic(path, (text.encode(encoding),))


def write_chunks_atomic(
    path: str | os.PathLike[str], chunks: Iterable[bytes | str], *, encoding: str = "utf-8"
) -> None:
    """Stream ``chunks`` into ``path`` atomically; for large files such as the JSONL export.

    ``chunks`` may be a generator: it is consumed while writing, so the whole file is
    never held in memory. If the generator raises, the exception propagates and the
    previous content of ``path`` (or its absence) is preserved.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _temporary_sibling(target) as (tmp_path, handle):
            for chunk in chunks:
                handle.write(chunk.encode(encoding) if isinstance(chunk, str) else chunk)
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            os.replace(tmp_path, target)
    except ArtifactWriteError:
        raise
    except OSError as e:
        raise ArtifactWriteError(target, e) from e
    _fsync_directory(target.parent)


@contextlib.contextmanager
def _temporary_sibling(target: Path) -> Iterator[tuple[Path, BinaryIO]]:
    """A fresh temporary file next to ``target``, removed unless it was renamed away."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp_path = Path(name)
    # mkstemp creates the file 0600; give the artifact the permissions a plain open()
    # would have, so other users and tools can read results as before.
    _chmod_like_new_file(fd)
    handle = os.fdopen(fd, "wb")
    try:
        yield tmp_path, handle
    except BaseException:
        # BaseException too: a KeyboardInterrupt midway must not leave a stray temp file.
        # Closing flushes what is buffered, which on a full disk fails again; the file
        # descriptor is closed all the same, and the temp file must go regardless.
        with contextlib.suppress(OSError):
            handle.close()
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _chmod_like_new_file(fd: int) -> None:
    """Set the mode ``open(..., "w")`` would have given: 0666 minus the umask."""
    if not hasattr(os, "fchmod"):  # Windows has no fchmod and no umask to honour.
        return
    os.fchmod(fd, 0o666 & ~_umask())


@functools.cache
def _umask() -> int:
    """The process umask, read once: reading it means setting it, which is not
    thread-safe, so it is done a single time rather than on every write."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _fsync_directory(directory: Path) -> None:
    """Persist the rename itself; best effort, as not every platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
