"""Image statistics that find some labels on their own and help the classifier with the rest.

Saturated-pixel fraction and bloom for glare, the luminance histogram for low light, row-band
dips of the floor's brightness for shadow edges, Laplacian variance and gradient energy for
blur, the dark channel and colour saturation for haze. Computed for a batch at once on frames
already at the working size (:data:`FRAME_HW`), in a few milliseconds per hundred frames.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

FRAME_HW = (96, 128)  # the simulated camera's size; every frame is resized to it
SATURATED, NEAR_SATURATED, DARK = 250, 230, 12
HIST_BINS = 8
STAT_NAMES = (
    "mean",
    "std",
    "p05",
    "p50",
    "p95",
    "saturated_frac",
    "near_saturated_frac",
    "dark_frac",
    "bloom",
    "laplacian_log_var",
    "gradient_energy",
    "band_depth",
    "band_edge",
    "dark_channel",
    "colour_saturation",
    *(f"hist_{i}" for i in range(HIST_BINS)),
)


def to_working_size(frame: np.ndarray) -> np.ndarray:
    """An RGB uint8 frame of any size, resized to :data:`FRAME_HW` (bilinear)."""
    h, w = FRAME_HW
    if frame.shape[:2] == (h, w):
        return frame
    return np.asarray(Image.fromarray(frame).resize((w, h), Image.Resampling.BILINEAR))


def luminance(frames: np.ndarray) -> np.ndarray:
    """Rec. 601 luma, float32 in 0..255, shape (N, H, W)."""
    rgb = frames.astype(np.float32)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _bloom(lum: np.ndarray) -> np.ndarray:
    """How much brighter than the frame's median the ring around its saturated pixels is."""
    out = np.zeros(len(lum), np.float32)
    for i, y in enumerate(lum):
        core = y >= SATURATED
        if core.sum() < 3:
            continue
        ring = ndimage.binary_dilation(core, iterations=5) & ~core
        if ring.any():
            out[i] = (y[ring].mean() - np.median(y)) / 255.0
    return out


def _bands(lum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth of the darkest horizontal band of the floor (lower half) below its neighbours, and
    the sharpest step between floor rows: a hard shadow crossing the aisle shows as both."""
    rows = lum[:, lum.shape[1] // 2 :, :].mean(axis=2)
    rows = ndimage.uniform_filter1d(rows, 3, axis=1)
    k = 6
    pad = np.pad(rows, ((0, 0), (k, k)), mode="edge")
    above = np.stack([pad[:, i : i + rows.shape[1]] for i in range(k)]).mean(axis=0)
    below = np.stack([pad[:, 2 * k - i : 2 * k - i + rows.shape[1]] for i in range(k)]).mean(0)
    depth = (np.minimum(above, below) - rows).max(axis=1) / 255.0
    edge = np.abs(np.diff(rows, axis=1)).max(axis=1) / 255.0
    return depth, edge


def image_stats(frames: np.ndarray) -> np.ndarray:
    """Statistics of RGB uint8 frames (N, H, W, 3) at the working size: (N, len(STAT_NAMES))."""
    lum = luminance(frames)
    flat = lum.reshape(len(lum), -1)
    p05, p50, p95 = np.percentile(flat, [5, 50, 95], axis=1) / 255.0
    lap = np.stack([ndimage.laplace(y) for y in lum])
    gy, gx = np.gradient(lum, axis=(1, 2))
    depth, edge = _bands(lum)
    r, g, b = frames[..., 0], frames[..., 1], frames[..., 2]  # faster than reducing axis 3
    low, top = np.minimum(np.minimum(r, g), b), np.maximum(np.maximum(r, g), b)
    dark = ndimage.minimum_filter1d(ndimage.minimum_filter1d(low, 5, axis=1), 5, axis=2)
    top_f = top.astype(np.float32)
    sat = (top_f - low) / np.maximum(top_f, 1.0)
    bins = np.minimum(flat, 255.0).astype(np.int64) // (256 // HIST_BINS)
    bins += HIST_BINS * np.arange(len(flat))[:, None]
    hist = np.bincount(bins.ravel(), minlength=HIST_BINS * len(flat)).reshape(len(flat), -1)
    columns = [
        flat.mean(axis=1) / 255.0,
        flat.std(axis=1) / 255.0,
        p05,
        p50,
        p95,
        (flat >= SATURATED).mean(axis=1),
        (flat >= NEAR_SATURATED).mean(axis=1),
        (flat <= DARK).mean(axis=1),
        _bloom(lum),
        np.log10(1.0 + lap.reshape(len(lum), -1).var(axis=1)),
        np.hypot(gx, gy).reshape(len(lum), -1).mean(axis=1) / 255.0,
        depth,
        edge,
        dark.reshape(len(lum), -1).mean(axis=1) / 255.0,
        sat.reshape(len(lum), -1).mean(axis=1),
    ]
    stats = np.column_stack([*columns, hist / flat.shape[1]])
    return stats.astype(np.float32)
