"""robotops: an agentic data flywheel for robot fleets.

The top-level folders of the repository (agents/, tools/, sim/, ...) install as subpackages of
this namespace, so that generic names such as ``api`` or ``tools`` never land bare in anyone's
site-packages.
"""

__version__ = "0.1.0"
