"""Simulation: the MuJoCo warehouse, episodes, and the simulated fleet.

MuJoCo picks its OpenGL backend when it is imported, so the default (EGL, headless on the
CPU through Mesa) is set here unless the user chose one (``MUJOCO_GL=osmesa`` also works).
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
if os.environ["MUJOCO_GL"] in ("egl", "osmesa"):
    os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
