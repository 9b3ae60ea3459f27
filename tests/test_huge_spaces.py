"""A finite space larger than numpy's 64-bit integers still hands out unseen sets."""

from __future__ import annotations

import numpy as np

from comet_optimize import Optimizer
from comet_optimize.algorithms.base import History


def test_the_unseen_fallback_draws_from_a_space_past_2_to_the_63(tmp_path):
    config = {"algorithm": "random", "spec": {"maxCombo": 5, "seed": 1},
              "parameters": {f"p{i}": {"type": "integer", "min": 0, "max": 2 ** 62}
                             for i in range(3)}}
    opt = Optimizer(config, verbose=0, store=str(tmp_path))
    assert opt.space.size > 2 ** 63
    seen: set[str] = set()
    params = opt.algorithm._unseen_fallback(History.empty(3), np.random.default_rng(1), seen)
    assert params is not None and all(0 <= v <= 2 ** 62 for v in params.values())
