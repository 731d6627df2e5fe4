"""Scenario tools: rebuild a triaged incident into a family of scenario files."""
