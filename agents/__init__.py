"""The agents: each follows a standard procedure over typed tools (LangGraph wiring to come)."""
