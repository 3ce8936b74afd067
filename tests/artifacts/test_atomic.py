"""Atomic writes (aiperf.artifacts.atomic): a reader sees the old file or the whole new one."""

from __future__ import annotations

import errno
import io
import os
import sys
from pathlib import Path

import pytest

from aiperf.artifacts.atomic import (
    ArtifactWriteError,
    write_bytes_atomic,
    write_chunks_atomic,
    write_text_atomic,
)


def leftovers(directory: Path) -> list[str]:
    """Temporary files left behind in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


class TestWrites:
    def test_text_is_written_verbatim(self, tmp_path):
        """No newline translation: a CSV keeps its \\r\\n on every platform."""
        path = tmp_path / "deep" / "dir" / "a.csv"

        write_text_atomic(path, "a,b\r\n1,é\r\n")

        assert b"a,b\r\n1,\xc3\xa9\r\n" == path.read_bytes()

    def test_bytes_replace_the_old_content(self, tmp_path):
        path = tmp_path / "a.bin"
        path.write_bytes(b"old and longer")

        write_bytes_atomic(path, b"new")

        assert b"new" == path.read_bytes()
        assert [] == leftovers(tmp_path)

    def test_chunks_mix_text_and_bytes(self, tmp_path):
        path = tmp_path / "a.jsonl"

        write_chunks_atomic(path, iter(["{}", b"\n", "{}\n"]))

        assert "{}\n{}\n" == path.read_text()

    @pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
    def test_permissions_are_those_of_a_plain_file(self, tmp_path):
        """mkstemp's 0600 would hide results from other users; honour the umask instead."""
        plain = tmp_path / "plain"
        plain.write_text("x")
        path = tmp_path / "atomic"

        write_text_atomic(path, "x")

        assert oct(plain.stat().st_mode & 0o777) == oct(path.stat().st_mode & 0o777)


class TestInterruptedWrites:
    """A write that fails midway leaves the previous file intact and no temp file."""

    @staticmethod
    def chunks_then(exc: BaseException):
        yield "first line\n"
        yield "second line\n"
        raise exc

    @pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
    def test_old_file_survives(self, tmp_path, exc):
        path = tmp_path / "profile_export.jsonl"
        path.write_text("complete old content\n")

        with pytest.raises(type(exc)):
            write_chunks_atomic(path, self.chunks_then(exc))

        assert "complete old content\n" == path.read_text()
        assert [] == leftovers(tmp_path)

    def test_no_file_appears(self, tmp_path):
        path = tmp_path / "new.jsonl"

        with pytest.raises(RuntimeError):
            write_chunks_atomic(path, self.chunks_then(RuntimeError("boom")))

        assert not path.exists()
        assert [] == leftovers(tmp_path)

    def test_failed_rename_cleans_up(self, tmp_path):
        """Even when the final rename fails (e.g. the target is a directory)."""
        path = tmp_path / "target"
        path.mkdir()

        with pytest.raises(OSError):
            write_text_atomic(path, "x")

        assert path.is_dir()
        assert [] == leftovers(tmp_path)

    def test_reader_never_sees_a_partial_file(self, tmp_path):
        """While the generator runs, the target still holds the old content."""
        path = tmp_path / "a.txt"
        path.write_text("old")
        seen = []

        def chunks():
            yield "new part 1"
            seen.append(path.read_text())
            yield "new part 2"

        write_chunks_atomic(path, chunks())

        assert ["old"] == seen
        assert "new part 1new part 2" == path.read_text()
        assert os.path.getsize(path) == len("new part 1new part 2")


class _FullDisk(io.RawIOBase):
    """A file whose every write fails as on a full disk."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


@pytest.fixture
def full_disk(monkeypatch):
    """Every temporary file the atomic writer opens is on a full disk."""
    monkeypatch.setattr(os, "fdopen", lambda fd, mode: io.BufferedWriter(_FullDisk(fd)))


class TestFullDisk:
    def test_a_full_disk_leaves_no_temp_file(self, tmp_path, full_disk):
        """Closing the temp file flushes it and fails again; it is removed all the same."""
        path = tmp_path / "a.json"

        with pytest.raises(OSError):
            write_text_atomic(path, "{}")

        assert not path.exists()
        assert [] == leftovers(tmp_path)

    def test_a_full_disk_is_one_line_naming_the_file(self, tmp_path, full_disk):
        path = tmp_path / "a.json"

        with pytest.raises(ArtifactWriteError) as caught:
            write_text_atomic(path, "{}")

        assert f"cannot write {path}: No space left on device" == str(caught.value)
        assert errno.ENOSPC == caught.value.errno
