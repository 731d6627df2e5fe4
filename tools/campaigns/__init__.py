"""Campaign tools: run scenario files under policy versions in the simulator."""
