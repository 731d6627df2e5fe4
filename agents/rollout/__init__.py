"""The rollout steward: proposes physical actions, waits for a person, then acts through tools."""
