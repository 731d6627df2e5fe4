"""Labeler backends, one module each; they register with :mod:`robotops.tools.labeling.registry`."""
