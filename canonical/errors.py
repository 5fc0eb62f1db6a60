"""One error tree for the whole hub, so every layer can raise and catch by meaning.

    FactorHubError
     +-- DomainError             a business rule refused the operation
     |    +-- IllegalTransition  a state machine was asked for a move it does not allow
     |    +-- LimitExceeded      not enough headroom on a facility
     +-- MappingError            an external document could not be mapped (lists every problem)
     +-- ConnectorError          an external system call failed
     |    +-- TransientError     worth retrying (timeouts, 5xx, connection resets)
     |    +-- PermanentError     retrying cannot help (4xx, a business refusal)
     +-- DeliveryError           the transport could not publish or consume
     +-- ConfigurationError      settings are missing or wrong

The hub decides retry versus dead-letter from the transient/permanent split alone.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConfigurationError",
    "ConnectorError",
    "DeliveryError",
    "DomainError",
    "FactorHubError",
    "IllegalTransition",
    "LimitExceeded",
    "MappingError",
    "PermanentError",
    "Problem",
    "TransientError",
]


class FactorHubError(Exception):
    """Root of every error the hub raises on purpose."""


class DomainError(FactorHubError):
    """A business rule refused the operation; `reason` is a stable upper-case code."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


class IllegalTransition(DomainError):
    """A state machine was asked for a transition it does not allow."""

    def __init__(self, machine: str, current: str, target: str) -> None:
        super().__init__("ILLEGAL_TRANSITION", f"{machine}: {current} -> {target} is not allowed")
        self.machine, self.current, self.target = machine, current, target


class LimitExceeded(DomainError):
    """A facility has less headroom than the amount asked for."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where (JSON pointer or XPath), what was there, and why."""

    path: str
    reason: str
    value: object = None

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "value": self.value, "reason": self.reason}


class MappingError(FactorHubError):
    """A document could not be mapped; carries EVERY problem found, not only the first."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        summary = "; ".join(f"{p.path}: {p.reason}" for p in self.problems[:5])
        more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(
            f"{source or 'document'} has {len(self.problems)} problem(s): {summary}{more}"
        )


class ConnectorError(FactorHubError):
    """An external system call failed; `system` names the partner."""

    def __init__(self, system: str, message: str) -> None:
        super().__init__(f"{system}: {message}")
        self.system = system


class TransientError(ConnectorError):
    """The call may succeed if repeated: timeouts, 5xx answers, dropped connections."""


class PermanentError(ConnectorError):
    """Repeating the call cannot help: the partner refused the request itself."""


class DeliveryError(FactorHubError):
    """The transport could not publish or consume a message."""


class ConfigurationError(FactorHubError):
    """A setting is missing or invalid."""
