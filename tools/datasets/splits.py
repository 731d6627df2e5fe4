"""Train/validation splits by robot and time block, so neighbouring frames never straddle them.

Frames a fraction of a second apart are nearly the same picture; if one sat in training and its
neighbour in validation, validation would measure memory, not generalisation. Whole blocks
(one robot, ``block_s`` seconds) go to one side, and frames within ``guard_s`` of a boundary
with a block on the other side are dropped.
"""

from __future__ import annotations

import math

import numpy as np


def time_group(robot_id: str, t_ns: int, block_s: float) -> tuple[str, int]:
    """The split unit of a log frame: its robot and its time block."""
    return robot_id or "?", int(t_ns // int(block_s * 1e9))


def pick_validation(groups: list[str], fraction: float, seed: int) -> set[str]:
    """A seeded choice of whole groups for validation (at least one when there are two)."""
    unique = sorted(set(groups))
    if len(unique) < 2 or fraction <= 0:
        return set()
    rng = np.random.default_rng(seed)
    n = min(len(unique) - 1, max(1, math.ceil(fraction * len(unique))))
    return {unique[i] for i in rng.permutation(len(unique))[:n]}


def near_other_split(
    robot: str,
    block: int,
    t_ns: int,
    val: set[str],
    existing: set[str],
    block_s: float,
    guard_s: float,
) -> bool:
    """Whether a frame sits within ``guard_s`` of a neighbouring block on the other side."""
    block_ns, guard_ns = int(block_s * 1e9), int(guard_s * 1e9)
    mine = group_name(robot, block) in val

    def other(b: int) -> bool:
        name = group_name(robot, b)
        return name in existing and (name in val) != mine

    into = t_ns - block * block_ns
    return (into < guard_ns and other(block - 1)) or (
        block_ns - into <= guard_ns and other(block + 1)
    )


def group_name(robot: str, block: int) -> str:
    """The split group of a robot's time block: frames of one group never straddle splits."""
    return f"{robot}:{block}"
