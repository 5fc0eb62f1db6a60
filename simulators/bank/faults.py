"""Injected faults of the bank channel, from a seeded RNG so that a failing run can be replayed.

Latency and errors apply to every /iso20022 request; "lose answer" applies to submissions only:
the payment is executed, then the answer is a 504 without a pain.002, as after a gateway timeout.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class FaultSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: Annotated[int, Field(ge=0, le=600_000)] = 0
    error_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    error_status: Annotated[int, Field(ge=400, le=599)] = 503
    lose_answer_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    seed: int | None = None


@dataclass(frozen=True)
class Decision:
    latency_s: float
    error_status: int | None  # answer this at once, doing nothing
    lose_answer: bool


class Faults:
    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self.configure(FaultSettings())

    def configure(self, settings: FaultSettings) -> None:
        with self._lock:
            self.settings = settings
            seed = self._seed if settings.seed is None else settings.seed
            self._rng = random.Random(f"factorhub-sim:bank-faults:{seed}")

    def decide(self, *, submission: bool) -> Decision:
        """Always draws two numbers, so the sequence depends only on the request order."""
        with self._lock:
            settings, error_roll, lose_roll = self.settings, self._rng.random(), self._rng.random()
        error = error_roll < settings.error_rate
        return Decision(
            latency_s=settings.latency_ms / 1000,
            error_status=settings.error_status if error else None,
            lose_answer=submission and not error and lose_roll < settings.lose_answer_rate,
        )
