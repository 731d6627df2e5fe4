"""Staged rollouts: plan (plan.py), gates (gates.py), execution with approvals, rollback and
crash recovery (executor.py), persisted state (models.py, store.py), typed tools (tools.py)."""
