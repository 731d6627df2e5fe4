"""Trigger rules: what in a stream of robot messages is an incident (see rules and engine)."""
