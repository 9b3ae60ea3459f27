"""Grid search: the cartesian product of per-parameter grids, in order or shuffled.

Only the axes are stored; a position is turned into its parameter set on
demand (mixed radix, after the keyed permutation when ``randomize``), so a grid
costs memory per axis value, never per grid point.

The grid and its order depend only on the config (its seed included), never
on the order of the parameters in it, so every process of a search computes
the same grid and a position in it means the same parameter set everywhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Sequence
from typing import Any

import numpy as np

from comet_optimize.algorithms.base import Algorithm, History
from comet_optimize.algorithms.permutation import KeyedPermutation
from comet_optimize.config import OptimizerConfig
from comet_optimize.space import Space, parameter_set_id


def axis_rng(seed: int, name: str) -> np.random.Generator:
    """The stream one parameter's grid is sampled from: keyed by its name, not its place."""
    digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return np.random.default_rng([seed, 0x6772, int.from_bytes(digest, "big")])


class GridSearch(Algorithm):
    independent = True

    def __init__(self, space: Space, config: OptimizerConfig, seed: int):
        self.space = space
        spec = config.spec
        grid_sizes = {p.name: p.grid_size or spec.grid_size for p in config.parameters}
        self.axes: list[Sequence] = [
            dimension.grid(grid_sizes[dimension.name], spec.min_sample_size,
                           axis_rng(seed, dimension.name))
            for dimension in space.dimensions
        ]
        total = 1
        for axis in self.axes:
            total *= len(axis)
        self._size = total
        # Shuffled lazily: a materialised permutation would cost 8 bytes per grid point.
        self._order = KeyedPermutation(total, key=seed) if spec.randomize else None
        self._cursor = 0  # every position before it is known to be seen

    @property
    def size(self) -> int:
        return self._size

    def at(self, position: int) -> dict[str, Any]:
        index = self._order(position) if self._order is not None else position
        out = {}
        for dimension, axis in zip(reversed(self.space.dimensions), reversed(self.axes)):
            index, digit = divmod(index, len(axis))
            out[dimension.name] = axis[digit]
        return self.space.ordered(out)

    def suggest(self, history: History, rng: np.random.Generator,
                seen: Container[str]) -> dict[str, Any] | None:
        found = self.suggest_with_id(history, rng, seen)
        return None if found is None else found[0]

    def suggest_with_id(self, history: History, rng: np.random.Generator,
                        seen: Container[str]) -> tuple[dict[str, Any], str] | None:
        while self._cursor < self._size:
            params = self.at(self._cursor)
            pid = parameter_set_id(params)
            if pid not in seen:
                return params, pid
            self._cursor += 1
        return None
