"""The fleet interface: models of the fleet API and the only client the system uses."""
