"""The camera's sensor model on top of MuJoCo's render: retro-reflective flare and auto-exposure.

MuJoCo's rasteriser has no bloom, so the lens effect of a retro-reflector lit from the camera
side is modelled here: each visible reflective strip becomes a saturated bloom and a horizontal
streak whose strength follows the angle between the strip's normal and the direction to the
camera (retro-reflectors send light back the way it came), and the camera's auto-exposure dims
the rest of the frame. Internal reflections between lens elements add ghosts on the line from
the source through the optical centre, which land low in the frame where obstacles appear.
Everything is a pure function of the scene state, so it is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np


@dataclass(frozen=True)
class GlareSource:
    """A flaring point in pixel coordinates with its strength (0 = none)."""

    u: float
    v: float
    strength: float


def project(
    point: np.ndarray, cam_pos: np.ndarray, cam_mat: np.ndarray, fovy_deg: float, w: int, h: int
) -> tuple[float, float, float] | None:
    """Pixel (u, v) and depth of a world point, or None when it is behind the camera."""
    rel = cam_mat.reshape(3, 3).T @ (point - cam_pos)
    depth = -rel[2]
    if depth <= 0.05:
        return None
    f = (h / 2) / math.tan(math.radians(fovy_deg) / 2)
    return w / 2 + f * rel[0] / depth, h / 2 - f * rel[1] / depth, float(depth)


def glare_strength(
    intensity: float, facing_yaw: float, point: np.ndarray, cam_pos: np.ndarray
) -> float:
    """Retro-reflection peaks when the vest's front or back faces the camera; fades with range."""
    to_cam = cam_pos - point
    dist = float(np.linalg.norm(to_cam))
    normal = np.array([math.cos(facing_yaw), math.sin(facing_yaw), 0.0])
    cos_front = float(normal @ to_cam) / max(dist, 1e-6)
    retro = max(cos_front, -cos_front, 0.0) ** 3
    return intensity * retro * min(1.5, (2.5 / max(dist, 0.5)) ** 2)


def visible(
    model: mujoco.MjModel,
    data: mujoco.MjData,
    cam_pos: np.ndarray,
    point: np.ndarray,
    target_body: int,
    robot_body: int,
) -> bool:
    """True when the first thing a camera ray toward ``point`` hits is the target body."""
    vec = point - cam_pos
    geomid = np.array([-1], dtype=np.int32)
    dist = mujoco.mj_ray(
        model, data, cam_pos, vec / np.linalg.norm(vec), None, 1, robot_body, geomid
    )
    if geomid[0] < 0:
        return True
    return model.geom_bodyid[geomid[0]] == target_body or dist >= np.linalg.norm(vec) - 0.3


GHOSTS = ((-0.5, 5.0, (0.6, 1.0, 0.7)), (-1.0, 8.0, (0.9, 0.7, 1.0)), (-1.4, 11.0, (1.0, 0.9, 0.6)))


def _ghosts(s: GlareSource, xx: np.ndarray, yy: np.ndarray, w: int, h: int) -> np.ndarray:
    """Tinted discs mirrored through the optical centre: where lens reflections land."""
    out = np.zeros((h, w, 3), np.float32)
    cx, cy = w / 2, h / 2
    for k, radius, tint in GHOSTS:
        gx, gy = cx + k * (s.u - cx), cy + k * (s.v - cy)
        r = radius * (0.6 + min(s.strength, 1.5))
        disc = 1.0 / (1.0 + np.exp(((xx - gx) ** 2 + (yy - gy) ** 2) ** 0.5 - r))
        out += 220.0 * min(s.strength, 1.2) * disc[..., None] * np.array(tint, np.float32)
    return out


def apply_sensor_model(
    rgb: np.ndarray, sources: list[GlareSource], rng: np.random.Generator, noise_std: float = 2.0
) -> np.ndarray:
    """Add flare and auto-exposure to a rendered frame, then the sensor's read noise."""
    img = rgb.astype(np.float32)
    h, w = img.shape[:2]
    total = sum(s.strength for s in sources)
    if total > 0.05:
        img *= 1.0 / (1.0 + 0.9 * min(total, 2.0))
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        for s in sources:
            sigma = 3.0 + 9.0 * min(s.strength, 1.5)
            bloom = np.exp(-((xx - s.u) ** 2 + (yy - s.v) ** 2) / (2 * sigma**2))
            streak = np.exp(-np.abs(yy - s.v) / 1.5) * np.exp(
                -np.abs(xx - s.u) / (w * 0.35 * s.strength + 1)
            )
            img += (600.0 * s.strength * bloom + 260.0 * s.strength * streak)[..., None]
            img += _ghosts(s, xx, yy, w, h)
    img += rng.normal(0.0, noise_std, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)
