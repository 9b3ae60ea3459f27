"""Search algorithms: pure functions of (space, history, rng), no I/O.

`make_algorithm` is the one place that maps a config's ``algorithm`` name to
its implementation.
"""

from __future__ import annotations

from comet_optimize.algorithms.base import Algorithm, History
from comet_optimize.config import OptimizerConfig
from comet_optimize.space import Space

__all__ = ["Algorithm", "History", "make_algorithm"]


def make_algorithm(config: OptimizerConfig, space: Space) -> Algorithm:
    """The algorithm a stored config names; its seed must already be fixed."""
    seed = config.spec.seed
    if seed is None:
        raise ValueError("the config's seed must be fixed before the algorithm is built")
    if config.algorithm == "grid":
        from comet_optimize.algorithms.grid import GridSearch

        return GridSearch(space, config, seed)
    if config.algorithm == "bayes":
        from comet_optimize.algorithms.bayes import ParzenSearch

        return ParzenSearch(space, config.spec.retry_limit, seed=seed)
    from comet_optimize.algorithms.random import RandomSearch

    return RandomSearch(space, config.spec.retry_limit)
