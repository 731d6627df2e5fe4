"""Turn a manifest back into pixels: decode log frames from the stored logs, slice sim packs.

Frames come out in manifest order, at the perception model's input size (128 x 96 RGB), with
their targets and split, so training sees exactly what the manifest names.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from PIL import Image

from robotops.errors import InvalidRequestError
from robotops.memory.blobs import BlobStore
from robotops.sim.logs.readers import open_log
from robotops.tools.datasets.models import DatasetManifest
from robotops.tools.labeling.frames import decode_frame
from robotops.tools.labeling.registry import FrameError

FRAME_HW = (96, 128)


@dataclass
class FrameSet:
    """Pixels, targets and the validation mask of a dataset, in manifest order."""

    frames: np.ndarray  # (N, 96, 128, 3) uint8
    targets: np.ndarray  # (N,) float32
    val: np.ndarray  # (N,) bool

    @property
    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """(validation indices, training indices)."""
        return np.flatnonzero(self.val), np.flatnonzero(~self.val)


def _fit(frame: np.ndarray) -> np.ndarray:
    if frame.shape[:2] == FRAME_HW:
        return frame
    return np.asarray(Image.fromarray(frame).resize(FRAME_HW[::-1], Image.BILINEAR))


def load_frames(manifest: DatasetManifest, blobs: BlobStore) -> FrameSet:
    """Decode every frame the manifest names.

    Raises:
        InvalidRequestError: a referenced log frame or pack is missing or does not decode.
    """
    n = len(manifest.frames)
    frames = np.zeros((n, *FRAME_HW, 3), np.uint8)
    wanted: dict[str, dict[tuple[str, int], int]] = defaultdict(dict)
    packs: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for i, ref in enumerate(manifest.frames):
        if ref.source == "log":
            wanted[ref.blob_sha256][(ref.topic, ref.log_time_ns)] = i
        else:
            packs[ref.blob_sha256].append((i, ref.index))
    for sha, slots in packs.items():
        _slice_pack(blobs, sha, slots, frames)
    for sha, slots in wanted.items():
        _decode_log(blobs, sha, slots, frames)
    targets = np.array([f.target for f in manifest.frames], np.float32)
    val = np.array([f.split == "val" for f in manifest.frames], bool)
    return FrameSet(frames, targets, val)


def _slice_pack(blobs: BlobStore, sha: str, slots: list[tuple[int, int]], out: np.ndarray) -> None:
    if not blobs.exists(sha):
        raise InvalidRequestError(f"dataset names sim pack {sha[:12]}, which the blob store lacks")
    with blobs.open(sha) as stream:
        pack = np.load(stream, allow_pickle=False)
    if pack.ndim != 4 or pack.shape[1:] != (*FRAME_HW, 3):
        raise InvalidRequestError(f"sim pack {sha[:12]} holds {pack.shape}, not N x 96 x 128 x 3")
    beyond = [k for _, k in slots if not 0 <= k < len(pack)]
    if beyond:
        raise InvalidRequestError(
            f"dataset names frame {beyond[0]} of sim pack {sha[:12]}, which has {len(pack)}"
        )
    for i, k in slots:
        out[i] = pack[k]


def _decode_log(
    blobs: BlobStore, sha: str, slots: dict[tuple[str, int], int], out: np.ndarray
) -> None:
    if not blobs.exists(sha):
        raise InvalidRequestError(f"dataset names log {sha[:12]}, which the blob store lacks")
    left = dict(slots)
    with open_log(blobs.path_of(sha)) as reader:
        for message in reader.messages():
            i = left.pop((message.topic, message.log_time_ns), None)
            if i is None:
                continue
            try:
                out[i] = _fit(decode_frame(message))
            except FrameError as exc:
                raise InvalidRequestError(
                    f"log {sha[:12]} {message.topic} at {message.log_time_ns}: {exc}"
                ) from exc
            if not left:
                break
    if left:
        (topic, t), _ = next(iter(left.items()))
        raise InvalidRequestError(
            f"log {sha[:12]}: {len(left)} frames the dataset names are not in it "
            f"(first: {topic} at {t})"
        )
