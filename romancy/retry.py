"""Retry policies for activities, with Go Romancy's defaults and presets (docs/engine.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from romancy.durations import jittered


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently an activity is retried.

    The default is Go Romancy's: 3 attempts, 100 ms first delay doubling up to 10 s, each
    delay jittered by ±50 %. ``max_attempts=0`` retries forever. A
    :class:`~romancy.TerminalError`, or an error of one of ``non_retryable`` types, stops
    at once.
    """

    max_attempts: int = 3
    initial_interval: float = 0.1
    max_interval: float = 10.0
    multiplier: float = 2.0
    randomization_factor: float = 0.5
    non_retryable: tuple[type[BaseException], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.max_attempts < 0:
            raise ValueError("RetryPolicy.max_attempts must be >= 0 (0 means unlimited)")
        if self.initial_interval < 0 or self.max_interval < 0:
            raise ValueError("RetryPolicy intervals must be >= 0")
        if self.multiplier < 1:
            raise ValueError("RetryPolicy.multiplier must be >= 1")
        if not 0 <= self.randomization_factor <= 1:
            raise ValueError("RetryPolicy.randomization_factor must be between 0 and 1")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(
            self.initial_interval * self.multiplier ** max(0, attempt - 1), self.max_interval
        )
        if self.randomization_factor:
            spread = self.randomization_factor
            base = jittered(base, 1 - spread, 1 + spread)
        return max(0.0, base)

    def should_retry(self, attempt: int, error: BaseException) -> bool:
        """Whether to try again after ``attempt`` attempts ended with ``error``."""
        if self.max_attempts and attempt >= self.max_attempts:
            return False
        return not isinstance(error, self.non_retryable)

    @classmethod
    def no_retry(cls) -> RetryPolicy:
        """One attempt only."""
        return cls(max_attempts=1)

    @classmethod
    def fixed(cls, max_attempts: int, interval: float) -> RetryPolicy:
        """The same delay between every attempt, without jitter."""
        return cls(max_attempts, interval, interval, 1.0, 0.0)

    @classmethod
    def exponential(
        cls, max_attempts: int, initial: float, maximum: float, multiplier: float = 2.0
    ) -> RetryPolicy:
        """Growing delays with ±50 % jitter."""
        return cls(max_attempts, initial, maximum, multiplier, 0.5)


DEFAULT_RETRY_POLICY = RetryPolicy()
