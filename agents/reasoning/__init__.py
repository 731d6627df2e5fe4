"""How agents reason: one interface; embedded (deterministic) and OpenAI-compatible backends."""
