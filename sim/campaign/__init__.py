"""Campaigns: every scenario x policy, isolated, resumable, deterministic."""
