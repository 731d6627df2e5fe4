"""One root error type; configuration errors apart from runtime errors.

Each subclass builds its own message: what was wrong, where, and what to do.
"""

from __future__ import annotations


class RobotOpsError(Exception):
    """Root of every error robotops raises on purpose."""


class ConfigError(RobotOpsError):
    """The configuration (settings, a spec file, a command line) is wrong; fix it and rerun."""


class NotFoundError(RobotOpsError):
    """A named thing (robot, log, policy version, incident) does not exist."""

    def __init__(self, kind: str, name: str, known: list[str] | None = None) -> None:
        self.kind, self.name, self.known = kind, name, known or []
        hint = f"; known: {', '.join(self.known[:20])}" if self.known else ""
        super().__init__(f"unknown {kind} {name!r}{hint}")


class InvalidRequestError(RobotOpsError):
    """A request is well-formed but asks for something impossible (e.g. an empty time window)."""


class FleetUnavailableError(RobotOpsError):
    """The fleet API did not answer in time or answered with a server error after retries."""


class LogFormatError(RobotOpsError):
    """A log file is corrupt, truncated or not a log at all."""

    def __init__(self, path: str, reason: str, offset: int | None = None) -> None:
        self.path, self.reason, self.offset = path, reason, offset
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{path}{where}: {reason}")


class SecurityError(RobotOpsError):
    """A credential, signature, order or nonce check refused an action; nothing was changed.

    ``check`` names the check that failed (``signature``, ``expiry``, ``robots``, ``artifact``,
    ``replay``, ``trust``, ...) so that callers and tests can tell refusals apart.
    """

    def __init__(self, check: str, detail: str) -> None:
        self.check, self.detail = check, detail
        super().__init__(f"{check} check failed: {detail}")


class ReplayError(SecurityError):
    """A single-use nonce or approval was already used by another deployment."""

    def __init__(self, detail: str) -> None:
        super().__init__("replay", detail)
