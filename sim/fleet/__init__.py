"""The simulated warehouse fleet: shifts of MuJoCo robots and the fleet HTTP service over them."""
