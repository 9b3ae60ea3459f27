"""The trust region's plateau rule (``gp_trust_plateau``): no box while the best score is
shared, the box as before otherwise."""

from __future__ import annotations

import numpy as np

from comet_optimize.algorithms.base import History
from comet_optimize.algorithms.bayes import ParzenSearch
from comet_optimize.config import validate
from comet_optimize.space import Space

SPACE = Space.from_config(validate({
    "algorithm": "bayes", "spec": {"seed": 1, "maxCombo": 0},
    "parameters": {"x": {"type": "double", "min": 0.0, "max": 1.0},
                   "y": {"type": "double", "min": 0.0, "max": 1.0},
                   "n": {"type": "integer", "min": 1, "max": 30}}}))
TRUST = {"gp_trust": True, "gp_trust_after": 20}


def history(tied: bool) -> History:
    rows = SPACE.sample_internal(np.random.default_rng(4), 40)
    scores = np.round(((rows[:, :2] - 0.4) ** 2).sum(axis=1), 3) + 0.01
    best = int(np.argmin(scores))
    if tied:  # a second experiment as good as the best, elsewhere: a plateau
        other = int(np.argmax(scores))
        scores[other] = scores[best]
    return History(rows, scores, rows[:0])


def proposal(h: History, **settings) -> np.ndarray:
    return ParzenSearch(SPACE, seed=1, **settings).propose(h, np.random.default_rng(9))


def test_a_shared_best_score_leaves_the_search_without_its_box():
    tied = history(tied=True)
    assert ParzenSearch._plateau(tied)
    plateau = proposal(tied, gp_trust_plateau=True, **TRUST)
    assert np.array_equal(plateau, proposal(tied, gp_trust=False))  # the global search
    assert not np.array_equal(plateau, proposal(tied, gp_trust_plateau=False, **TRUST))


def test_a_single_best_keeps_the_box():
    single = history(tied=False)
    assert not ParzenSearch._plateau(single)
    assert np.array_equal(proposal(single, gp_trust_plateau=True, **TRUST),
                          proposal(single, gp_trust_plateau=False, **TRUST))
    assert not np.array_equal(proposal(single, **TRUST), proposal(single, gp_trust=False))


def test_an_empty_history_is_no_plateau():
    assert not ParzenSearch._plateau(History.empty(3))


def test_the_default_search_uses_the_box_from_the_31st_result_and_leaves_plateaus():
    """What the ninth session shipped: the box on, from 30 results, none on plateaus."""
    single, tied = history(tied=False), history(tied=True)
    shipped = {"gp_trust": True, "gp_trust_after": 30, "gp_trust_plateau": True}
    assert np.array_equal(proposal(single), proposal(single, **shipped))
    assert not np.array_equal(proposal(single), proposal(single, gp_trust=False))
    assert np.array_equal(proposal(tied), proposal(tied, gp_trust=False))
    early = History(single.completed[:29], single.scores[:29], single.pending)  # 30th
    assert np.array_equal(proposal(early), proposal(early, gp_trust=False))


def reference(h: History, step: float | None = None) -> tuple[float, np.ndarray]:
    search = ParzenSearch(SPACE, seed=1, **({} if step is None else {"gp_plateau_step": step}))
    y = search._gp_scores(h)
    return search._improvement_reference(h, y), y


def test_on_a_plateau_improvement_is_measured_from_one_step_below_the_best():
    tied = history(tied=True)
    best, y = reference(tied, 1.0)
    first, second = np.unique(y)[:2]
    assert best == first - (second - first)
    assert reference(tied, 0.5)[0] == first - 0.5 * (second - first)
    assert reference(tied, 0.0)[0] == first
    assert reference(tied)[0] == first - 2.0 * (second - first)  # the default (tenth session)


def test_the_plateau_step_changes_nothing_while_the_best_is_single():
    single = history(tied=False)
    assert reference(single, 1.0)[0] == reference(single, 0.0)[0]
    assert np.array_equal(proposal(single, gp_plateau_step=1.0),
                          proposal(single, gp_plateau_step=0.0))
    tied = history(tied=True)
    assert not np.array_equal(proposal(tied, gp_plateau_step=1.0),
                              proposal(tied, gp_plateau_step=0.0))
