"""The MuJoCo warehouse: layout, hazard and actor specs, the MJCF builder and the camera model."""
