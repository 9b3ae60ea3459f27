"""Random search: an independent draw from every parameter's distribution."""

from __future__ import annotations

import numpy as np

from comet_optimize.algorithms.base import History, SamplingAlgorithm


class RandomSearch(SamplingAlgorithm):
    independent = True

    def propose(self, history: History, rng: np.random.Generator) -> np.ndarray:
        return self.space.sample_internal(rng, 1)
