"""robotops."""
