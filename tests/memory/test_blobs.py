"""The content-addressed blob store."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

import pytest

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.memory.blobs import BlobBatch, LocalBlobStore, StoredFile, copy_blob, hash_file


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_put_file_streams_and_lays_out_by_hash(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000  # larger than one read block
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    store = LocalBlobStore(tmp_path / "blobs")
    sha = store.put_file(src)
    assert sha == hashlib.sha256(data).hexdigest() == hash_file(src)
    assert store.path_of(sha) == tmp_path / "blobs" / sha[:2] / sha[2:]
    with store.open(sha) as stream:
        assert stream.read() == data
    assert files_under(tmp_path / "blobs") == [store.path_of(sha)]  # no staging leftovers


def test_same_content_twice_is_a_no_op(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    sha = store.put_bytes(b"thumbnail")
    before = store.path_of(sha).stat().st_mtime_ns
    assert store.put_bytes(b"thumbnail") == sha
    src = tmp_path / "copy.bin"
    src.write_bytes(b"thumbnail")
    assert store.put_file(src) == sha
    assert store.put_file(src, sha) == sha
    assert store.path_of(sha).stat().st_mtime_ns == before
    assert len(files_under(tmp_path / "blobs")) == 1


def test_wrong_known_hash_is_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    src = tmp_path / "a.bin"
    src.write_bytes(b"a")
    with pytest.raises(InvalidRequestError, match="changed while being stored"):
        store.put_file(src, "0" * 64)
    assert files_under(tmp_path / "blobs") == []


def test_names_are_validated_and_missing_blobs_reported(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(InvalidRequestError):
        store.path_of("../../etc/passwd")
    with pytest.raises(NotFoundError):
        store.open("a" * 64)
    assert not store.exists("a" * 64)
    store.delete("a" * 64)  # deleting a missing blob is fine


def test_batch_takes_back_only_new_blobs_on_failure(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    kept = store.put_bytes(b"already there")
    with pytest.raises(RuntimeError), BlobBatch(store) as batch:
        batch.put_bytes(b"already there")
        new = batch.put_bytes(b"new")
        raise RuntimeError("ingest failed")
    assert store.exists(kept) and not store.exists(new)
    with BlobBatch(store) as batch:
        new = batch.put_bytes(b"new")
    assert store.exists(new)


def test_copy_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    sha = store.put_bytes(b"window")
    out = copy_blob(store, sha, tmp_path / "out" / "w.mcap")
    assert out.read_bytes() == b"window"


def test_add_file_hashes_the_stored_copy_and_says_whether_it_is_new(tmp_path: Path) -> None:
    src = tmp_path / "log.mcap"
    src.write_bytes(bytes(range(256)) * 10_000)
    store = LocalBlobStore(tmp_path / "blobs")
    first = store.add_file(src)
    assert first == StoredFile(hash_file(src), created=True)
    assert store.add_file(src) == StoredFile(first.sha256, created=False)
    blob = store.path_of(first.sha256)
    assert blob.read_bytes() == src.read_bytes()
    assert blob.stat().st_ino != src.stat().st_ino  # a copy
    assert stat.S_IMODE(src.stat().st_mode) != 0o444  # the source is left as it was
    assert files_under(tmp_path / "blobs") == [blob]


def test_link_keeps_the_file_itself_and_makes_it_read_only(tmp_path: Path) -> None:
    src = tmp_path / "log.mcap"
    src.write_bytes(b"final log")
    store = LocalBlobStore(tmp_path / "blobs")
    stored = store.add_file(src, link=True)
    blob = store.path_of(stored.sha256)
    assert stored == StoredFile(hash_file(src), created=True)
    assert blob.stat().st_ino == src.stat().st_ino  # nothing copied
    assert stat.S_IMODE(src.stat().st_mode) == 0o444  # the blob is the file: both read-only
    assert files_under(tmp_path / "blobs") == [blob]


def test_link_falls_back_to_a_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def other_file_system(*_: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    src = tmp_path / "log.mcap"
    src.write_bytes(b"log on another disk")
    store = LocalBlobStore(tmp_path / "blobs")
    monkeypatch.setattr(os, "link", other_file_system)
    stored = store.add_file(src, link=True)
    assert store.path_of(stored.sha256).stat().st_ino != src.stat().st_ino
    assert store.path_of(stored.sha256).read_bytes() == b"log on another disk"


def test_batch_takes_back_the_files_it_added(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    old, new = tmp_path / "old.mcap", tmp_path / "new.mcap"
    old.write_bytes(b"ingested yesterday")
    new.write_bytes(b"ingested now")
    kept = store.put_file(old)
    with pytest.raises(RuntimeError), BlobBatch(store) as batch:
        assert batch.add_file(old) == kept
        added = batch.add_file(new, link=True)
        raise RuntimeError("ingest failed")
    assert store.exists(kept) and not store.exists(added)
    assert new.read_bytes() == b"ingested now"  # taking a linked blob back keeps the file
