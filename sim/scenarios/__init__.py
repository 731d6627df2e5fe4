"""Scenario specs, families reconstructed from incidents, and their files."""
