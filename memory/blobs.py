"""Content-addressed blob store: every log and artifact is kept once, under its sha256.

A blob's name is the hash of its bytes, so storing the same content twice is a no-op, a name can
never point at different bytes, and provenance can refer to content rather than to paths that
move. The local backend lays blobs out as ``ROOT/ab/cdef...`` (the first two hex digits fan the
files out over 256 folders). The :class:`BlobStore` protocol is kept small and free of local
assumptions so that an S3-compatible (fsspec) backend can implement it later.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.settings import Settings

BLOCK = 1 << 20
HASH_BLOCK = 16 << 20
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def hash_file(path: Path) -> str:
    """The sha256 of a file, read in blocks so memory does not grow with its size.

    Blocks are large because each one takes the GIL back twice (after the read, after the
    hash), and beside a busy thread (an ingest's scan) each take can wait a switch interval:
    hashing 475 MiB there took 4.9 s with 1 MiB blocks, 0.6 s with 16 MiB (0.27 s alone).
    """
    digest = hashlib.sha256()
    buffer = bytearray(HASH_BLOCK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as stream:
        while size := stream.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def hash_bytes(data: bytes) -> str:
    """The sha256 of ``data``; the name that data gets in a blob store."""
    return hashlib.sha256(data).hexdigest()


class StoredFile(NamedTuple):
    """A file put in a blob store: its name, and whether this put created the blob."""

    sha256: str
    created: bool


class BlobStore(Protocol):
    """What every blob backend provides. Blobs are immutable; names are sha256 hex digests."""

    def put_file(self, path: Path, sha256: str | None = None) -> str:
        """Store a file's content and return its sha256 (``sha256`` skips the copy if known)."""
        ...

    def add_file(self, path: Path, *, link: bool = False) -> StoredFile:
        """Store a file whose hash is not known yet, reading it once; says whether it is new.

        ``link`` asks to keep the file itself (a hard link) instead of a copy, where the
        backend can; a backend that cannot simply copies.
        """
        ...

    def put_bytes(self, data: bytes, durable: bool = True) -> str:
        """Store ``data`` and return its sha256; ``durable=False`` skips waiting for the disk
        (for small derived blobs that can be made again, such as thumbnails)."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """Open the blob for reading (binary)."""
        ...

    def path_of(self, sha256: str) -> Path:
        """A local path holding the blob (a remote backend would cache it locally first)."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the blob if present (garbage collection, undoing a failed ingest)."""
        ...


class LocalBlobStore:
    """Blobs in a local folder. Writes are atomic: a blob is either absent or complete."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalBlobStore:
        return cls(settings.blob_root())

    def path_of(self, sha256: str) -> Path:
        if not _SHA_RE.match(sha256):
            raise InvalidRequestError(
                f"{sha256!r} is not a blob name; blob names are 64 lowercase hex digits (sha256)"
            )
        return self.root / sha256[:2] / sha256[2:]

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def put_file(self, path: Path, sha256: str | None = None) -> str:
        """Copy ``path`` in and return its sha256; a known ``sha256`` already stored is a no-op.

        Raises:
            InvalidRequestError: ``sha256`` was given and does not match the file's content.
        """
        if sha256 is not None and self.exists(sha256):
            return sha256
        return self._put_file(path, sha256, link=False).sha256

    def add_file(self, path: Path, *, link: bool = False) -> StoredFile:
        """Store ``path``, hashing only the stored copy; returns its sha256 and whether it is new.

        The copy is made by the kernel (``copy_file_range``: no trip through Python, a cheap
        clone on copy-on-write file systems) and then hashed, so a blob's name is always the
        hash of the bytes actually stored, and the file is hashed once, not before and after.

        ``link=True`` stores the file by hard link instead when it is on the store's file system
        (else it is copied): nothing is copied, but the blob *is* the file: its mode becomes
        read-only (and stays so), and it must never again be modified in place (replacing it,
        as editors and recorders do, is fine). Use it only for files that are final, such as
        finished logs.
        """
        return self._put_file(path, None, link=link)

    def put_bytes(self, data: bytes, durable: bool = True) -> str:
        sha = hash_bytes(data)
        if self.exists(sha):
            return sha
        with self._staging() as tmp:
            tmp.write_bytes(data)
            self._commit(tmp, sha, durable)
        return sha

    def open(self, sha256: str) -> BinaryIO:
        path = self.path_of(sha256)
        if not path.is_file():
            raise NotFoundError("blob", sha256)
        return open(path, "rb")  # noqa: SIM115 - the caller owns the handle

    def delete(self, sha256: str) -> None:
        self.path_of(sha256).unlink(missing_ok=True)

    def _put_file(self, path: Path, sha256: str | None, link: bool) -> StoredFile:
        with self._staging() as tmp:
            if not (link and _hard_link(path, tmp)):
                with open(path, "rb") as src, open(tmp, "wb") as out:
                    _copy(src, out)
            actual = hash_file(tmp)
            if sha256 is not None and sha256 != actual:
                raise InvalidRequestError(
                    f"{path} changed while being stored: expected sha256 {sha256}, read {actual}"
                )
            return StoredFile(actual, self._commit(tmp, actual))

    @contextlib.contextmanager
    def _staging(self) -> Iterator[Path]:
        """A temporary path on the store's own file system, removed unless committed."""
        staging = self.root / ".tmp"
        staging.mkdir(parents=True, exist_ok=True)
        tmp = staging / uuid.uuid4().hex
        try:
            yield tmp
        finally:
            tmp.unlink(missing_ok=True)

    def _commit(self, tmp: Path, sha256: str, durable: bool = True) -> bool:
        """Move a staged blob into place, on disk first unless ``durable`` is False; False when
        the same content was already there (nothing is then written to disk)."""
        final = self.path_of(sha256)
        if final.is_file():
            return False  # same content already there: storing twice is a no-op
        if durable:
            _fsync(tmp)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        final.chmod(0o444)
        return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # cheap for a linked file already on disk
    finally:
        os.close(fd)


def _hard_link(src: Path, dst: Path) -> bool:
    """Link ``dst`` to ``src``'s inode; False where that is impossible (another file system, a
    file system without hard links, no permission)."""
    try:
        os.link(src, dst)
    except OSError:
        return False
    return True


def _copy(src: BinaryIO, dst: BinaryIO) -> None:
    """Copy a whole file in the kernel where it can, in user space where it cannot."""
    try:
        while os.copy_file_range(src.fileno(), dst.fileno(), 64 * BLOCK):
            pass
    except OSError:  # not supported between these files (e.g. across file systems)
        src.seek(0)
        dst.seek(0)
        dst.truncate()
        shutil.copyfileobj(src, dst, BLOCK)


class BlobBatch:
    """The blobs put during one unit of work, so that a failure can take back the new ones.

    Use it as a context manager around an ingest: when the block raises, every blob that did not
    exist before the batch put it is deleted, so a failed ingest leaves nothing behind.
    """

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.created: list[str] = []
        self._lock = threading.Lock()  # blobs may be put from a copying thread

    def __enter__(self) -> BlobBatch:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None:
            self.rollback()

    def put_file(self, path: Path, sha256: str | None = None) -> str:
        sha256 = sha256 or hash_file(path)
        existed = self.store.exists(sha256)
        self.store.put_file(path, sha256)
        self._track(sha256, existed)
        return sha256

    def add_file(self, path: Path, *, link: bool = False) -> str:
        """Store a file not hashed yet (see :meth:`BlobStore.add_file`); returns its sha256."""
        stored = self.store.add_file(path, link=link)
        self._track(stored.sha256, existed=not stored.created)
        return stored.sha256

    def put_bytes(self, data: bytes, durable: bool = True) -> str:
        sha = hash_bytes(data)
        existed = self.store.exists(sha)
        self.store.put_bytes(data, durable)
        self._track(sha, existed)
        return sha

    def put_derived(self, data: bytes) -> str:
        """Put a small blob that can be derived again (no wait for the disk)."""
        return self.put_bytes(data, durable=False)

    def rollback(self) -> None:
        for sha in reversed(self.created):
            self.store.delete(sha)
        self.created.clear()

    def _track(self, sha: str, existed: bool) -> None:
        with self._lock:
            if not existed and sha not in self.created:
                self.created.append(sha)


def copy_blob(store: BlobStore, sha256: str, dst: Path) -> Path:
    """Write blob ``sha256`` to ``dst`` (atomically); returns ``dst``."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
    try:
        with store.open(sha256) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, BLOCK)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst
