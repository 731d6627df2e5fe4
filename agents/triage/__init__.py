"""The triage agent: "why did #104 stall?" answered from the robot's own data."""
