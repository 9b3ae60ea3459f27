"""What every algorithm sees and promises."""

from __future__ import annotations

from collections.abc import Container, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from comet_optimize.space import ENUMERATION_LIMIT, Space, parameter_set_id


@dataclass
class History:
    """The observations an algorithm learns from, as arrays in the space's internal box.

    ``scores`` are oriented so that lower is better (maximised metrics are
    negated); a NaN or infinite result is ``+inf``, the worst completed score.
    ``pending`` rows are assigned and unfinished: they carry no score but
    tell the algorithm where other workers already are.
    """

    completed: np.ndarray  # (n, d) internal rows of completed experiments
    scores: np.ndarray  # (n,)
    pending: np.ndarray  # (m, d) internal rows of running experiments

    @classmethod
    def empty(cls, dimensions: int) -> History:
        return cls(np.empty((0, dimensions)), np.empty(0), np.empty((0, dimensions)))


class Algorithm:
    """Picks the next parameter set that has not been handed out yet."""

    space: Space
    #: Whether `suggest` ignores the history (results and pending rows alike): then a
    #: worker may take several assignments in one decision (see
    #: `Optimizer.get_experiments`), since no result that arrives meanwhile would have
    #: changed them, and the optimizer passes an empty history rather than build one.
    independent = False

    @property
    def size(self) -> int | None:
        """How many distinct parameter sets this algorithm can produce (None: unbounded)."""
        return self.space.size

    def suggest(self, history: History, rng: np.random.Generator,
                seen: Container[str]) -> dict[str, Any] | None:
        """A parameter set whose pid is not in ``seen``, or None when none is left."""
        raise NotImplementedError

    def suggest_with_id(self, history: History, rng: np.random.Generator,
                        seen: Container[str]) -> tuple[dict[str, Any], str] | None:
        """`suggest`, with the suggestion's pid: an algorithm that checked it against
        ``seen`` has it already, and the optimizer records it (it is a hash of the
        parameters' JSON, a fifth of a random search's choice)."""
        params = self.suggest(history, rng, seen)
        return None if params is None else (params, parameter_set_id(params))


class SamplingAlgorithm(Algorithm):
    """Random and bayes: propose rows, retry on repeats, enumerate a finite space as last resort.

    ``propose`` returns internal rows, best first. ``rank`` orders arbitrary
    rows by promise (used on the enumerated unseen sets of a finite space).
    """

    def __init__(self, space: Space, retry_limit: int = 20):
        self.space = space
        self.retry_limit = retry_limit

    def propose(self, history: History, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def rank(self, history: History, rows: np.ndarray) -> np.ndarray | None:
        """Indices of ``rows``, most promising first; None when the algorithm has no opinion."""
        return None

    def proposals(self, history: History, rng: np.random.Generator) -> Iterator[np.ndarray]:
        """Batches of proposals; each retry takes the next (a model is built only once)."""
        while True:
            yield self.propose(history, rng)

    def suggest(self, history: History, rng: np.random.Generator,
                seen: Container[str]) -> dict[str, Any] | None:
        found = self._suggest_with_id(history, rng, seen)
        return None if found is None else found[0]

    def suggest_with_id(self, history: History, rng: np.random.Generator,
                        seen: Container[str]) -> tuple[dict[str, Any], str] | None:
        if type(self).suggest is not SamplingAlgorithm.suggest:
            return super().suggest_with_id(history, rng, seen)  # a suggest of its own
        return self._suggest_with_id(history, rng, seen)

    def _suggest_with_id(self, history: History, rng: np.random.Generator,
                         seen: Container[str]) -> tuple[dict[str, Any], str] | None:
        batches = self.proposals(history, rng)
        for _attempt in range(self.retry_limit + 1):
            for row in next(batches):
                params = self.space.decode(row)
                pid = parameter_set_id(params)
                if pid not in seen:
                    return params, pid
        params = self._unseen_fallback(history, rng, seen)
        return None if params is None else (params, parameter_set_id(params))

    def _unseen_fallback(self, history: History, rng: np.random.Generator,
                         seen: Container[str]) -> dict[str, Any] | None:
        """Every retry hit a seen set: in a finite space, pick among the unseen directly."""
        size = self.space.size
        if size is None:
            return None
        if size > ENUMERATION_LIMIT:
            # Seen sets are a small share of so large a space: keep drawing uniformly.
            for _ in range(10_000):
                params = self.space.enumerate(_uniform_index(rng, size))
                if parameter_set_id(params) not in seen:
                    return params
            return None
        unseen = [p for p in map(self.space.enumerate, range(size))
                  if parameter_set_id(p) not in seen]
        if not unseen:
            return None
        order = self.rank(history, np.array([self.space.encode(p) for p in unseen]))
        if order is None:
            return unseen[int(rng.integers(len(unseen)))]
        return unseen[int(order[0])]


def _uniform_index(rng: np.random.Generator, size: int) -> int:
    """A uniform index below ``size``, also past numpy's 64-bit integers."""
    if size < 2 ** 63:
        return int(rng.integers(size))
    extra = 8  # bytes beyond the size's own: the modulo bias stays below 2**-64
    return int.from_bytes(rng.bytes((size.bit_length() + 7) // 8 + extra), "little") % size
