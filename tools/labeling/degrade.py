"""Camera degradations the simulator does not render, applied to frames with known truth.

Low light, motion blur, dust or haze and a partly covered lens happen to real cameras but not
to MuJoCo's: they are applied here, before JPEG encoding as in a real camera, so that the
embedded labeler learns them and its eval can measure them. Each function is pure given its
random generator.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

DEGRADATIONS = ("low_light", "dust_haze", "motion_blur", "camera_occlusion")

Degrade = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def low_light(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Too little light: a fraction of the exposure, more read noise, a little gamma."""
    gain = rng.uniform(0.08, 0.3)
    img = 255.0 * (frame.astype(np.float32) / 255.0) ** rng.uniform(1.0, 1.4) * gain
    img += rng.normal(0.0, rng.uniform(1.5, 4.0), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def dust_haze(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Airborne dust or haze: a veil of grey-beige light over a softened image."""
    veil = np.array([200, 195, 180], np.float32) * rng.uniform(0.75, 1.1)
    amount = rng.uniform(0.4, 0.75)
    soft = ndimage.gaussian_filter(frame.astype(np.float32), sigma=(0.8, 0.8, 0))
    return np.clip(soft * (1 - amount) + veil * amount, 0, 255).astype(np.uint8)


def motion_blur(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera motion during the exposure: a line kernel 6 to 14 pixels long at any angle."""
    length = int(rng.integers(6, 15))
    angle = rng.uniform(0.0, 180.0)
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    kernel = ndimage.rotate(kernel, angle, reshape=False, order=1)
    kernel /= kernel.sum()
    img = frame.astype(np.float32)
    out = np.stack([ndimage.convolve(img[..., c], kernel, mode="nearest") for c in range(3)], -1)
    return np.clip(out, 0, 255).astype(np.uint8)


def camera_occlusion(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Something on or right in front of the lens: a dark, blurred blob over an edge."""
    h, w = frame.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    edge = int(rng.integers(4))
    cx, cy = [
        (rng.uniform(0, w), 0.0),
        (rng.uniform(0, w), h),
        (0.0, rng.uniform(0, h)),
        (w, rng.uniform(0, h)),
    ][edge]
    radius = rng.uniform(0.35, 0.6) * max(h, w)
    dist = np.hypot((xx - cx) / rng.uniform(0.8, 1.3), yy - cy)
    alpha = np.clip((radius - dist) / 6.0, 0.0, 1.0)[..., None] * rng.uniform(0.85, 1.0)
    shade = np.array([40, 36, 32], np.float32) * rng.uniform(0.3, 1.6)
    out = frame.astype(np.float32) * (1 - alpha) + shade * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


DEGRADE: dict[str, Degrade] = {
    "low_light": low_light,
    "dust_haze": dust_haze,
    "motion_blur": motion_blur,
    "camera_occlusion": camera_occlusion,
}
