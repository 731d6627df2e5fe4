"""Triage: why did a robot stall? Evidence from the log around an incident, and a named cause."""
