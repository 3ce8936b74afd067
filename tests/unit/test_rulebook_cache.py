"""The on-disk cache of strictyaml's results for the shipped rules files.

It must be invisible: the rulebook and the built-in recipes are the same with it, without
it, with a damaged cache file and with a cache folder that cannot be written; a changed
rules file is a miss; and processes writing it at once leave a valid file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aiperf._resources import cache_dir, rules_dir
from aiperf.config import parse_cache as pc
from aiperf.config import recipes as recipes_mod
from aiperf.config import rulebook as rb
from aiperf.config.errors import ConfigErrors


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh, empty cache folder, and no rulebook or registry kept in memory."""
    home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    rb.load_rulebook.cache_clear()
    recipes_mod.builtin_registry.cache_clear()
    yield home / "aiperf"
    rb.load_rulebook.cache_clear()
    recipes_mod.builtin_registry.cache_clear()


@pytest.fixture
def rules_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the rules folder that load_rulebook reads instead."""
    folder = tmp_path / "rules"
    shutil.copytree(rules_dir(), folder)
    monkeypatch.setattr(rb, "rules_dir", lambda: folder)
    monkeypatch.setattr(recipes_mod, "rules_dir", lambda: folder)
    return folder


def reference(folder: Path | None = None) -> str:
    # repr, not ==: it also tells True from 1 and 1 from 1.0 in rule arguments.
    return repr(rb.load_rulebook_from(folder or rules_dir()))


def fresh_rulebook() -> rb.Rulebook:
    rb.load_rulebook.cache_clear()
    return rb.load_rulebook()


def entries(folder: Path, kind: str = "rulebook") -> list[Path]:
    return sorted(folder.glob(f"{kind}-*.json")) if folder.is_dir() else []


def no_strictyaml_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any parse or scalar typing fail, so that only a cache hit can succeed."""
    def boom(*args, **kwargs):
        raise AssertionError("parsed although the cache should have answered")

    monkeypatch.setattr(rb, "_parse_table", boom)
    monkeypatch.setattr(rb, "type_plain", boom)
    monkeypatch.setattr(recipes_mod, "_parse_recipes", boom)
    monkeypatch.setattr(recipes_mod, "type_plain", boom)


def test_cache_folder_follows_xdg_cache_home(cache_home, monkeypatch, tmp_path):
    assert cache_dir() == cache_home
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # ignored, as the spec says
    assert cache_dir() == Path.home() / ".cache" / "aiperf"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "aiperf"


def test_miss_writes_the_cache_and_hit_reads_it(cache_home, monkeypatch):
    expected = reference()
    first = rb.load_rulebook()
    assert repr(first) == expected
    [entry] = entries(cache_home)
    no_strictyaml_parse(monkeypatch)
    second = fresh_rulebook()
    assert second is not first
    assert repr(second) == expected
    assert entries(cache_home) == [entry]


def test_builtin_recipes_are_cached_too(cache_home, monkeypatch):
    expected = repr(recipes_mod.load_builtin(rules_dir() / "recipes.yaml"))
    assert repr(list(recipes_mod.builtin_registry().recipes.values())) == expected
    assert len(entries(cache_home, "recipes")) == 1
    no_strictyaml_parse(monkeypatch)
    recipes_mod.builtin_registry.cache_clear()
    assert repr(list(recipes_mod.builtin_registry().recipes.values())) == expected


def test_changed_rules_file_misses(cache_home, rules_copy):
    before = rb.load_rulebook()
    path = rules_copy / "notes.yaml"
    text = path.read_text(encoding="utf-8")
    first_because = next(line for line in text.splitlines() if "because:" in line)
    path.write_text(text.replace(first_because, "    because: changed by the test", 1),
                    encoding="utf-8")
    after = fresh_rulebook()
    assert repr(after) != repr(before)
    assert repr(after) == reference(rules_copy)
    assert "changed by the test" in {r.because for t in after.note_tables for r in t.rules}
    assert len(entries(cache_home)) == 2


def test_another_strictyaml_release_misses(cache_home, monkeypatch):
    rb.load_rulebook()
    [entry] = entries(cache_home)
    monkeypatch.setattr(pc, "_strictyaml_release", lambda: "strictyaml-99.0.dist-info")
    assert repr(fresh_rulebook()) == reference()
    assert len(entries(cache_home)) == 2 and entry in entries(cache_home)


def test_the_strictyaml_release_is_read_without_importing_it():
    pc._strictyaml_release.cache_clear()
    assert pc._strictyaml_release().startswith("strictyaml-")
    assert pc._strictyaml_release().endswith(".dist-info")


def test_a_different_rules_file_order_or_name_misses(cache_home, rules_copy):
    rb.load_rulebook()
    (rules_copy / "notes.yaml").rename(rules_copy / "zz-notes.yaml")
    renamed = fresh_rulebook()
    assert repr(renamed) == reference(rules_copy)
    assert {t.file for t in renamed.tables} >= {"rules/zz-notes.yaml"}
    assert len(entries(cache_home)) == 2


@pytest.mark.parametrize("damage", [
    "truncate", "garbage", "empty", "flip-a-byte", "valid-json-wrong-digest",
    "right-digest-wrong-key", "right-digest-wrong-shape", "a-folder",
])
def test_damaged_cache_file_falls_back_to_parsing(cache_home, damage):
    rb.load_rulebook()
    [entry] = entries(cache_home)
    raw = entry.read_bytes()
    digest, _, body = raw.partition(b"\n")

    def with_digest(new_body: bytes) -> bytes:
        import hashlib
        return hashlib.sha256(new_body).hexdigest().encode() + b"\n" + new_body

    if damage == "truncate":
        entry.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        entry.write_bytes(os.urandom(512))
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "flip-a-byte":
        i = len(digest) + 1 + len(body) // 2
        entry.write_bytes(raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1:])
    elif damage == "valid-json-wrong-digest":
        entry.write_bytes(b"0" * 64 + b"\n" + json.dumps({"key": "x"}).encode())
    elif damage == "right-digest-wrong-key":
        obj = json.loads(body)
        obj["key"] = "0" * 64
        entry.write_bytes(with_digest(json.dumps(obj).encode()))
    elif damage == "right-digest-wrong-shape":
        obj = json.loads(body)
        obj["docs"] = obj["docs"][:1]
        entry.write_bytes(with_digest(json.dumps(obj).encode()))
    elif damage == "a-folder":
        entry.unlink()
        entry.mkdir()

    assert repr(fresh_rulebook()) == reference()
    if damage != "a-folder":  # a miss rewrites the entry, so the next start hits again
        assert entry.read_bytes() == raw


def test_unwritable_cache_folder_falls_back_silently(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # so mkdir of .../aiperf fails
    assert repr(fresh_rulebook()) == reference()
    assert repr(fresh_rulebook()) == reference()
    assert blocker.is_file()


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="permissions do not stop root (or apply on Windows)")
def test_read_only_cache_folder_falls_back_silently(cache_home):
    cache_home.mkdir(parents=True)
    cache_home.chmod(0o500)
    try:
        assert repr(fresh_rulebook()) == reference()
        assert entries(cache_home) == []
    finally:
        cache_home.chmod(0o700)


def test_no_home_folder_falls_back_silently(monkeypatch):
    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(pc, "cache_dir", no_home)  # where the cache looks it up
    assert repr(fresh_rulebook()) == reference()


def test_a_parse_error_is_raised_as_without_cache_and_not_stored(cache_home, rules_copy):
    path = rules_copy / "notes.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("hit_policy:", "hit_polcy:", 1),
                    encoding="utf-8")
    with pytest.raises(ConfigErrors) as uncached:
        rb.load_rulebook_from(rules_copy)
    with pytest.raises(ConfigErrors) as cached:
        fresh_rulebook()
    assert cached.value.render() == uncached.value.render()
    assert entries(cache_home) == []


def test_a_bad_rule_is_reported_the_same_from_a_cache_hit(cache_home, rules_copy):
    # A rule strictyaml accepts but the checks refuse: the checks run on every start.
    path = rules_copy / "notes.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("when:\n", "when:\n      no_such_predicate: x\n", 1),
                    encoding="utf-8")
    with pytest.raises(ConfigErrors) as uncached:
        rb.load_rulebook_from(rules_copy)
    for _ in range(2):
        with pytest.raises(ConfigErrors) as cached:
            fresh_rulebook()
        assert cached.value.render() == uncached.value.render()


def test_old_entries_are_pruned(cache_home, rules_copy):
    cache_home.mkdir(parents=True)
    for i in range(pc.CACHE_KEEP + 3):
        stale = cache_home / f"rulebook-{i:064x}.json"
        stale.write_text("old", encoding="utf-8")
        os.utime(stale, (1_000_000 + i, 1_000_000 + i))
    leftover = cache_home / ".rulebook-dead.tmp"
    leftover.write_text("from a killed process", encoding="utf-8")
    os.utime(leftover, (1_000_000, 1_000_000))
    rb.load_rulebook()
    kept = entries(cache_home)
    assert len(kept) == pc.CACHE_KEEP
    assert not leftover.exists()
    assert repr(fresh_rulebook()) == reference()  # the newest entry, ours, was kept


def test_threads_writing_at_once_leave_a_valid_entry(cache_home):
    docs = [(rb._display(p), rb._table_text(p, False)) for p in rb._table_paths(rules_dir())]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            cache = pc.ParseCache("rulebook", docs)
            cache._docs = None  # force a parse and a write, even after another thread's
            cache.parse(rb._parse_table)
            barrier.wait()
            cache.save()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(entries(cache_home)) == 1
    assert list(cache_home.glob("*.tmp")) == []
    assert pc.ParseCache("rulebook", docs).hit


def test_processes_writing_at_once_all_succeed(cache_home, tmp_path):
    code = ("from aiperf.config.rulebook import load_rulebook; "
            "print(len(load_rulebook().tables))")
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    assert all(rc == 0 for _, _, rc in results), results
    assert len({out for out, _, _ in results}) == 1
    [entry] = entries(cache_home)
    assert list(cache_home.glob("*.tmp")) == []
    assert repr(fresh_rulebook()) == reference()
    assert entries(cache_home) == [entry]


def test_typed_values_are_only_kept_when_json_carries_them_exactly(cache_home):
    import math

    from aiperf.config.kinds import IntKind, ScalarKind

    cache = pc.ParseCache("rulebook-test", [("x", "")])
    assert cache.typed(IntKind(), "3") == 3
    assert cache.typed(ScalarKind(), "true") is True
    assert math.isnan(cache.typed(ScalarKind(), "nan"))  # NaN != NaN: never served from JSON
    with pytest.raises(ValueError):
        cache.typed(IntKind(min=5), "3")  # the same error as type_plain, and not kept
    cache.parse(lambda text, label: {})
    cache.save()
    again = pc.ParseCache("rulebook-test", [("x", "")])
    assert again.hit
    assert sorted(again._typed) == sorted(['IntKind(min=None, max=None)\n"3"',
                                           'ScalarKind()\n"true"'])
    assert again.typed(ScalarKind(), "true") is True
