"""Typed tools: pydantic in, pydantic out, usable without any agent."""
