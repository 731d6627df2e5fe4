"""``robotops edge``: the agent that runs on the robot.

It imports only core (settings, errors, security) and the robot-side log code in ``sim.logs``,
never the orchestrator's tools, agents or API: what runs on a robot stays small and checkable.
"""
