"""Bayes: a multivariate Tree-structured Parzen Estimator (TPE).

After a random start (``n_startup`` experiments handed out, pending ones
included, so parallel workers do not lengthen it; a start-up suggestion made while
others run is a point of a scrambled Halton design instead, ``startup_design_parallel``,
which leaves a single worker's search as it was), the completed experiments
are split into a good set (the best few) and a bad set (the rest, plus every
pending experiment, so that parallel workers are pushed away from points
already being tried: the "constant liar"). Each set becomes a Parzen mixture: one product kernel per
observation over all parameters jointly, plus one prior component (the
user's own distribution, which is uniform in the internal box). Candidates
are drawn from the good mixture l(x) and ranked by log l(x) - log g(x).

Ordered parameters live on [0, 1] (see `space`), so their kernels are
Gaussians truncated to the unit interval, each as wide as the larger gap to
its neighbours (the outermost looking inwards only), never narrower than one
step of an integer or discrete parameter. Unordered parameters (categorical,
linear integers) get a kernel that keeps the observed choice and spreads a
generous prior share over the others, so that a choice tried once and
unlucky is not abandoned. `benchmarks/quality/README.md` records what each
of these choices did to the score.

A Gaussian process (`gp.py`, setting ``gp``, on by default: it gains on both
halves of the benchmark in `benchmarks/quality/README.md`) then picks among
candidates while the history is small (up to ``gp_max_trials`` completed
experiments), on every space with an ordered parameter (``gp_unordered_limit``;
with categorical parameters alone the Parzen model decides): draws from l(x), uniform
draws and small moves around the best points are ranked by the GP's expected
improvement and the best few polished by L-BFGS-B. The Parzen model thus
supplies where to look (and the categorical choices worth trying); the GP,
which learns a length scale per parameter, decides where exactly. Pending
experiments enter the GP as kriging believers (observed at the predicted
mean, so the improvement there vanishes), as they enter the bad mixture here,
and expected improvement is measured from the best of the observed and the
believed scores (``gp_believer_reference``): otherwise a pending point predicted
to improve leaves a sure improvement right beside it, and the workers crawl.
Far from every observation the GP's mean reverts to the 75th percentile of
the warped scores, not to their mean (``gp_prior_mean``): at the mean, the
expected improvement of unexplored corners came from their variance alone and
kept drawing the GP there on rugged problems. Since the eleventh session the
scores' warp takes its scale from the start-up's results (``gp_warp_reference``):
taken from all of them, it shrank as results crowded round the best, the GP's
length scales collapsed with it and the search stayed in its first basin.
Integer and discrete candidates are scored at the values they would run with
(``gp_snap``): between two values the GP would promise an improvement no
runnable point has. Since the ninth session (``gp_trust``, on), once ``gp_trust_after``
results are in, the GP searches a trust region (TuRBO's box around the best
point, replayed from the history): left to itself, expected improvement keeps
sending it to the corners of the space on rugged problems, where the Parzen
model does better; the box fixes that there but stalls on plateaus, so there is
none while two results share the best score (``gp_trust_plateau``). Also
optional and off, since they lost on the benchmark's tuning half: a mixed
polish of the acquisition (closed-form gradients, a coordinate search over
integer and categorical values: `acquisition.py`) and a Parzen re-ranking of
the GP's shortlist.

Speed: the scaled squared distances of all candidates to all kernels expand
into two matrix products, so the cost per suggestion grows with the history
only through those products, and the bad mixture keeps at most ``max_bad``
observations (past that, the good set is found by partition and the bad
mixture takes every s-th completed experiment, s a power of two: no sort of
the whole history), so it stops growing at all. Past the cap the two mixtures
also change rarely (the good one when a result enters the best 25, the bad one
when a result lands on a multiple of s), so the search keeps the last of each
and reuses it while its rows are the same (pending rows are added to the bad
one as kernels of their own; when the bad sample gains a row, only the kernels whose
widths that changes are computed again); a reused mixture is the one a fresh build
gives, bit for bit, so a suggestion does not depend on what the process decided before. The GP costs
O(n^3) in the history; past ``gp_max_trials`` it is not fitted, which keeps a
suggestion under 50 ms while it runs and the Parzen path's cost beyond.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from comet_optimize.algorithms import design, gp
from comet_optimize.algorithms.acquisition import coordinate_search, polish_continuous
from comet_optimize.algorithms.base import History, SamplingAlgorithm
from comet_optimize.space import Space

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_EXP_FLOOR = float(np.exp(np.float64(-40.0)))  # a kernel term's floor, relative to the peak


@dataclass(frozen=True)
class ParzenSettings:
    """The knobs of the estimator; the defaults are what the benchmark chose."""

    n_startup: int = 10  # random suggestions before the model is used
    good_fraction: float = 0.1  # share of completed experiments in the good set ...
    max_good: int = 25  # ... up to this many
    max_bad: int = 400  # the bad mixture keeps at most this many completed experiments
    prior_weight: float = 1.0  # weight of the prior component in each mixture
    bandwidth_factor: float = 1.0  # multiplies the neighbour-gap widths
    edge_gaps: bool = False  # outermost kernels also see their gap to the boundary
    step_floor: float = 1.0  # no narrower than this many steps of an integer/discrete
    categorical_prior: float = 3.0  # weight an unordered kernel spreads over all choices
    candidates: int = 24  # draws from l(x) per suggestion ...
    candidates_per_dimension: int = 4  # ... plus this many per parameter
    # The Gaussian process (`gp.py`) that picks among candidates while it is cheap enough.
    gp: bool = True  # the GP decides while it runs (False: the Parzen model alone)
    gp_max_trials: int = 150  # completed experiments past which the GP is not fitted
    # (at 150 in 5-D a suggestion costs about 44 ms through the file store, under load)
    gp_fit_size: int = 64  # at most this many rows fit its hyperparameters
    gp_every: int = 1  # the GP makes every k-th suggestion, the Parzen model the others
    gp_gate: float | None = None  # Parzen decides when the GP's leave-one-out rank
    # correlation is below this (None: the GP always decides while it runs)
    gp_candidates: int = 256  # Parzen draws and as many uniform draws scored by the GP
    gp_polish: int = 3  # best candidates whose ordered values are then optimised ...
    gp_polish_iterations: int = 15  # ... by this many L-BFGS-B steps
    gp_starts: tuple[float, ...] = (math.log(0.3), 1.0)  # log length scales to fit from
    gp_transform: str = "log"  # how scores are warped before the fit: "log" or "rank"
    gp_warp_reference: str = "startup"  # the scores whose median excess over the best sets
    # the log warp's scale: "startup" (the first n_startup results, random draws; see
    # `gp.log_transform`) or "all" (before the eleventh session)
    gp_prior_shift: float = -3.0  # added to the centre of the ordered dimensions' log
    # length-scale prior (-3: pulled to 0.3-0.65 on the unit cube, see gp.fit)
    gp_noise: float = 1e-3  # centre of the prior on the GP's noise variance
    gp_polish_incumbent: bool = False  # the best observed point is also polished
    gp_startup: int | None = None  # completed experiments before the GP runs (None:
    # n_startup, like the Parzen model)
    gp_pending_penalty: bool = False  # pending rows also rule out their neighbourhood
    # by log(1 - correlation), beyond the kriging believer (4 workers: -34 at 20 trials
    # with it, -21 without)
    gp_unordered_limit: float = 1.0  # the GP runs only on spaces where fewer than this
    # share of the parameters is unordered (categorical, integer linear), else Parzen
    # decides (1.0: every space with an ordered parameter; 0.5 until the GP's mean moved
    # to gp_prior_mean 0.75, after which the GP won on both categorical-heavy problems)
    gp_patience: int | None = None  # the Parzen model decides while the best result is
    # older than this many results (None: the GP decides however long it stalls)
    startup_pending: bool = True  # the start-up ends once n_startup experiments were
    # handed out (completed or pending), not n_startup completed: 4 workers no longer add
    # 3 random experiments to it (fifth session; a sequential run cannot change, since
    # nothing is pending when it decides; 4 workers at 20 trials +5.7 +- 3.9 in sim.py)
    gp_liar: str = "believer"  # a pending row's value in the GP: "believer" (its predicted
    # mean), "min" / "max" (the best / worst transformed score so far), "none" (ignored)
    gp_believer_reference: bool = True  # with the believer, expected improvement is
    # measured from the best of the observed and the believed scores: a pending row
    # predicted to improve no longer leaves a sure improvement beside it for the next
    # worker to take (4 workers crawled, a third of their picks within 0.02 of a pending
    # one). Eleventh session, 4 workers, paired: tuning half +0.6 / +4.9, confirming
    # +2.8 / +4.3 at 20 / 50 trials (16 seeds); a single worker is unchanged
    gp_uniform: float = 1.0  # uniform candidates per Parzen candidate in the GP's pool
    gp_snap: bool = True  # the GP scores integer/discrete candidates at the values they
    # would run with (each moved to its nearest value), not between two values
    gp_trust: bool = True  # the GP searches a trust region around the best point
    # (TuRBO's box: grown after 3 improvements in a row, halved after max(4, d) misses).
    # On since the ninth session, from the 31st result and off plateaus (the next two
    # settings): 20 seeds, tuning half +0.0 / -0.2 / +2.1, confirming +0.0 / +1.1 / +1.3
    # at 20 / 50 / 100 trials (svr_diabetes, whose corners the box keeps the GP from,
    # +44 at 100)
    gp_trust_after: int = 30  # completed experiments before the box applies (the GP's
    # global search first: it is what wins the first 20 trials; from the 21st the box
    # lost 9 points at 50 on the tuning half, fourth session)
    gp_trust_side: float = 0.8  # the box's side at the start (1.6: its largest)
    gp_trust_min: float = 0.1  # below this side the box starts again at gp_trust_side
    # (TuRBO's restart, around the same best point; TuRBO's own 0.5^7 is never reached
    # within a few hundred trials)
    gp_trust_step: bool = True  # the box is at least one step wide on integer/discrete
    gp_trust_ties: bool = False  # a result equal to the best is not a miss (plateaus)
    gp_trust_plateau: bool = True  # no box while the best score is shared by two or
    # more results (a plateau: the box's centre would be arbitrary; tree_cancer lost 38
    # at 100 trials to the box without it, fourth session)
    gp_plateau_step: float = 2.0  # while the best score is shared (a plateau), expected
    # improvement is measured from this many steps below it, a step being the gap between
    # the two best distinct scores (0: from the best itself, as before the tenth session).
    # Only accuracy-like scores tie; 20 seeds, paired: tree_cancer +17 / +50 / +47 at
    # 20 / 50 / 100 trials (one step: +16 / +25 / +37), sgd_cancer -0.5 / +11 / +40, no
    # other problem changed
    gp_trust_every: int = 1  # the box applies to every k-th suggestion only (by the count
    # of results), the GP's global search makes the others
    gp_thompson: int = 0  # with experiments pending, the next is the best of one joint
    # posterior draw over this many candidates of highest expected improvement (0: the
    # best expected improvement itself)
    gp_prior_mean: float | None = 0.75  # where the GP's mean reverts far from the data:
    # this quantile of the warped scores (None: their mean, as before); 0.75 says an
    # unexplored region is no better than 3 results in 4, so variance alone does not pull
    # the GP to the corners (confirming half +9 / +8 / +8 at 20 / 50 / 100 trials)
    startup_design: bool | str = False  # start-up suggestion i (i = experiments handed out,
    # completed or pending) is point i of a design fixed by the search's seed (`design.py`):
    # "halton" (scrambled Halton), "lhs" or True (maximin Latin hypercube), False or
    # "random" (uniform draws); space-filling, and the same design for 1 worker or 4
    startup_design_parallel: bool | str = "halton"  # the start-up design (as
    # startup_design) for a suggestion made while other experiments are running: parallel
    # workers get a space-filling start, a single worker's search stays as it was (nothing
    # is pending when it decides). 4 workers at 20 trials: parallel.py +6.2 +- 5.4, the
    # tuning half +4.2 +- 3.9, the confirming half -1.3 +- 2.8 (eighth session)
    startup_spread: int = 1  # a start-up suggestion is the one of this many uniform draws
    # farthest from every experiment so far (1: a plain random draw)
    gp_mixed_search: int = 0  # rounds of the mixed polish (`acquisition.py`): L-BFGS-B
    # with the closed-form gradient on continuous parameters, then a coordinate search
    # over every value of each integer/discrete one (0: L-BFGS-B by finite differences
    # on every ordered parameter, integers relaxed, then snapped)
    gp_prior_reference: str = "all"  # the scores gp_prior_mean's quantile is taken over:
    # "all" results, or the "startup" ones (random draws: the space as a whole)
    gp_rerank: float | None = None  # candidates within this much of the best log expected
    # improvement are ordered by the Parzen model's log l(x) - log g(x) (None: by the
    # GP's expected improvement alone)
    gp_categorical_search: bool = False  # after the polish, a coordinate search tries
    # every choice of each categorical parameter, not only the candidates' choices
    gp_discrete_search: bool = False  # ... and every value of each integer/discrete one
    # (with gp_mixed_search it always does)


class ParzenSearch(SamplingAlgorithm):
    settings = ParzenSettings()

    def __init__(self, space: Space, retry_limit: int = 20, seed: int | None = None,
                 **overrides):
        super().__init__(space, retry_limit)
        self.settings = replace(type(self).settings, **overrides)
        self.seed = seed  # the search's seed (only the start-up design uses it)
        self._startup_designs: dict[str, np.ndarray] = {}  # by kind, built once
        self.numeric = np.flatnonzero(~space.categorical_mask)
        self.categorical = np.flatnonzero(space.categorical_mask)
        # Width of one step on the unit interval of integer and discrete parameters.
        self.resolution = np.array([
            1.0 / dimension.cardinality if dimension.cardinality else 0.0
            for dimension in space.dimensions if not dimension.categorical])
        # The sharing rule by problem shape, fixed by the space alone (deterministic).
        self.gp_suits_space = (len(self.categorical)
                               < self.settings.gp_unordered_limit * len(space.dimensions))
        # Per ordered dimension with finitely many values: its column, the internal value
        # of each of them (sorted) and the midpoints between neighbours, to round to.
        self.grids = []
        for column, dimension in enumerate(space.dimensions):
            count = dimension.cardinality
            if not dimension.categorical and count and count <= 100_000:
                centres = np.array([dimension.encode(v) for v in dimension.choices])
                order = np.argsort(centres)
                centres = centres[order]
                self.grids.append((column, centres, 0.5 * (centres[1:] + centres[:-1])))
        self.n_candidates = (self.settings.candidates
                             + self.settings.candidates_per_dimension * len(space.dimensions))
        self._mixtures: dict[str, _Parzen] = {}  # the last good and bad mixtures, to reuse

    def _estimators(self, history: History) -> tuple[_Parzen, _Parzen]:
        settings = self.settings
        n = len(history.scores)
        n_good = min(max(1, math.ceil(settings.good_fraction * n)), settings.max_good)
        if n - n_good > settings.max_bad:
            # Past the cap, no full sort (a stable argsort of 10,000 scores alone costs about
            # 1 ms): the good set by partition (in completion order), and the bad mixture
            # from every s-th completed experiment (s a power of two, so between max_bad / 2
            # and max_bad of them), a bounded, deterministic, unbiased sample of the same
            # density that changes only when a result lands on a multiple of s: both
            # mixtures are then reused from the previous suggestion, not rebuilt.
            good = np.sort(np.argpartition(history.scores, n_good - 1)[:n_good])
            stride = 1 << math.ceil(math.log2(n / settings.max_bad))
            base = np.ones(-(-n // stride), dtype=bool)
            base[good[good % stride == 0] // stride] = False  # good ones are not bad
            base = np.flatnonzero(base) * stride
            bad = self._reuse("bad", history.completed[base])
            if len(history.pending):
                bad = bad.extended(history.pending)
            return self._reuse("good", history.completed[good]), bad
        order = np.argsort(history.scores, kind="stable")
        good_rows = history.completed[order[:n_good]]
        bad = order[n_good:]
        bad_rows = np.concatenate([history.completed[bad], history.pending])
        return self._reuse("good", good_rows), _Parzen(self, bad_rows)

    def _reuse(self, name: str, centres: np.ndarray) -> _Parzen:
        """The mixture on ``centres``: the one built for the previous suggestion when its
        centres are the same rows in the same order (then it is the same mixture, so the
        suggestions are exactly those a fresh build gives), else a new one."""
        cached = self._mixtures.get(name)
        if cached is not None and np.array_equal(cached.centres, centres):
            return cached
        k = 0 if cached is None else len(cached.centres)
        if 0 < k < len(centres) and np.array_equal(cached.centres, centres[:k]):
            # The same rows and a few more (the bad sample when a result lands on a
            # multiple of s: every 4th suggestion at 1,000 results): only the kernels
            # whose widths changed are computed again.
            mixture = cached.grown(centres)
        else:
            mixture = _Parzen(self, centres)
        self._mixtures[name] = mixture
        return mixture

    def propose(self, history: History, rng: np.random.Generator) -> np.ndarray:
        return next(self.proposals(history, rng))

    def proposals(self, history: History, rng: np.random.Generator) -> Iterator[np.ndarray]:
        settings = self.settings
        n = len(history.scores)
        gp_startup = settings.n_startup if settings.gp_startup is None else settings.gp_startup
        handed = n + len(history.pending) if settings.startup_pending else n
        if handed < settings.n_startup and not (self._use_gp(history) and n >= gp_startup):
            while True:
                yield self._startup(history, rng)
        good, bad = self._estimators(history)
        if self._use_gp(history):
            rows = self._gp_proposals(history, good, rng, bad)
            if rows is not None:
                yield rows
        while True:
            candidates = good.sample(rng, self.n_candidates)
            score = good.log_pdf(candidates) - bad.log_pdf(candidates)
            yield candidates[np.argsort(-score, kind="stable")]

    def _startup(self, history: History, rng: np.random.Generator) -> np.ndarray:
        """Uniform draws, the one farthest from every completed and pending experiment
        first: with ``startup_spread`` > 1, a space-filling start that needs no state
        between suggestions (each is decided from the history alone), also in parallel.
        With a design (``startup_design``, or ``startup_design_parallel`` while other
        experiments are running), the design's point for this hand-out instead."""
        kind = self._design_kind()
        if len(history.pending) and kind == "random":
            kind = self._design_kind(self.settings.startup_design_parallel)
        if kind != "random":
            index = len(history.scores) + len(history.pending)
            # The design's point for this hand-out and the later ones (a point already
            # handed out, after a failure, moves on), then uniform draws.
            return np.concatenate([self._design(kind)[index:],
                                   self.space.sample_internal(rng, 8)])
        k = self.settings.startup_spread
        draws = self.space.sample_internal(rng, k)
        seen = np.concatenate([history.completed, history.pending])
        if k == 1 or not len(seen):
            return draws
        ordered = ~self.space.categorical_mask
        diff = draws[:, None, :] - seen[None, :, :]
        r2 = np.where(ordered, diff * diff, (diff != 0) * 0.25).sum(axis=2)
        return draws[np.argsort(-r2.min(axis=1), kind="stable")]

    def _design_kind(self, kind: bool | str | None = None) -> str:
        """``kind`` (by default ``startup_design``) by name (True and False, its earlier
        values, are "lhs" and "random")."""
        kind = self.settings.startup_design if kind is None else kind
        kind = "lhs" if kind is True else "random" if kind is False else kind
        if kind not in ("random", "lhs", "halton"):
            raise ValueError(f"startup_design: unknown design {kind!r} "
                             "(choose random, lhs or halton)")
        return kind

    def _design(self, kind: str | None = None) -> np.ndarray:
        """The start-up's ``n_startup`` points in the internal box (`design.py`): a
        scrambled Halton sequence ("halton") or a maximin Latin hypercube ("lhs"), drawn
        from the search's seed (``kind`` defaults to ``startup_design``). Fixed by the
        seed, so start-up point i is the same whoever hands it out: 4 workers get the
        design a single one does."""
        kind = self._design_kind(kind)
        if kind in self._startup_designs:
            return self._startup_designs[kind]
        n, d = self.settings.n_startup, len(self.space.dimensions)
        rng = np.random.default_rng([0 if self.seed is None else self.seed, 1729])
        if kind == "halton":
            best = design.scrambled_halton(n, d, rng)
        else:
            best = design.maximin_latin_hypercube(n, d, rng)
        rows = np.clip(best, 1e-12, 1.0 - 1e-12)
        if len(self.categorical):
            choices = self.space.n_choices[self.categorical].astype(float)
            rows[:, self.categorical] = np.minimum(
                np.floor(best[:, self.categorical] * choices), choices - 1)
        self._startup_designs[kind] = rows
        return rows

    def _use_gp(self, history: History) -> bool:
        finite = np.isfinite(history.scores)
        n = len(history.scores)
        patience = self.settings.gp_patience
        if patience is not None and n and (n - 1 - max(int(np.argmin(history.scores)),
                                                       self.settings.n_startup - 1)
                                           >= patience):
            return False  # stalled: the Parzen model's wider search decides until a new best
        return (self.settings.gp and n <= self.settings.gp_max_trials
                and self.gp_suits_space
                and int(finite.sum()) >= 3 and n % self.settings.gp_every == 0)

    def _gp_proposals(self, history: History, good: _Parzen, rng: np.random.Generator,
                      bad: _Parzen | None = None) -> np.ndarray | None:
        """Candidates from the Parzen model, uniform draws and small moves around the
        best points, ranked by the GP's expected improvement; the best few are then
        polished by shrinking random moves. None when the GP's own check says it is lost."""
        settings = self.settings
        y = self._gp_scores(history)
        model = gp.fit(history.completed, y, self.space.categorical_mask, rng,
                       settings.gp_fit_size, starts=settings.gp_starts,
                       prior_shift=settings.gp_prior_shift, noise_centre=settings.gp_noise)
        if settings.gp_gate is not None and model.loo_rank_correlation() < settings.gp_gate:
            return None
        best = self._improvement_reference(history, y)
        pending = history.pending
        if len(pending) and settings.gp_liar != "none":
            # Kriging believer: pending rows count as observed at the predicted mean, so
            # the variance (and the improvement) there drops and workers spread out.
            if settings.gp_liar == "believer":
                believed, _ = model.predict(pending)
                if settings.gp_believer_reference:
                    # ... and a believed improvement counts as made: next to a pending
                    # row predicted to beat the best, the improvement left is what its
                    # neighbours add beyond it, not the whole of it again.
                    best = min(best, float(believed.min()))
            else:
                believed = np.full(len(pending), y.min() if settings.gp_liar == "min"
                                   else y.max())
            model = model.condition(pending, believed)
        m = settings.gp_candidates
        top = history.completed[np.argsort(history.scores, kind="stable")[:8]]
        candidates = np.concatenate([
            good.sample(rng, m), self.space.sample_internal(rng, round(settings.gp_uniform * m)),
            self._moves(top[rng.integers(len(top), size=m)], 0.05, rng)])
        box = None
        if (settings.gp_trust and len(self.numeric)
                and len(history.scores) >= settings.gp_trust_after
                and len(history.scores) % settings.gp_trust_every == 0
                and not (settings.gp_trust_plateau and self._plateau(history))):
            box = self._trust_box(history, model, top[0])
            candidates = self._into_box(candidates, box, rng)
        if settings.gp_snap:
            candidates = self._snap(candidates)

        def acquisition(rows: np.ndarray) -> np.ndarray:
            value = gp.log_expected_improvement(*model.predict(rows), best)
            if len(pending) and settings.gp_pending_penalty:
                # ... and a pending row also rules out its close neighbourhood (local
                # penalisation by the kernel's correlation), even where it was observed.
                value += np.log1p(-np.minimum(model.correlation(rows, pending),
                                              1 - 1e-12)).sum(axis=1)
            return value

        candidates, score = self._gp_search(model, best, acquisition, candidates, top, box)
        order = np.argsort(-score, kind="stable")
        if settings.gp_rerank is not None and bad is not None:
            # The GP's shortlist (within gp_rerank of the best log expected improvement),
            # in the Parzen model's order (log l - log g): where the GP sees several
            # nearly equal chances, the one the good results vouch for goes first.
            short = order[score[order] >= score[order[0]] - settings.gp_rerank]
            rows = candidates[short]
            ratio = good.log_pdf(rows) - bad.log_pdf(rows)
            order = np.concatenate([short[np.argsort(-ratio, kind="stable")],
                                    order[len(short):]])
        if len(pending) and settings.gp_thompson:
            pool = order[:settings.gp_thompson]
            draw = model.sample(candidates[pool], rng)
            order = np.concatenate([pool[np.argsort(draw, kind="stable")],
                                    order[settings.gp_thompson:]])
        return candidates[order]

    def _gp_search(self, model: gp.GaussianProcess, best: float,
                   acquisition: Callable[[np.ndarray], np.ndarray], candidates: np.ndarray,
                   top: np.ndarray, box: tuple[np.ndarray, np.ndarray] | None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """``candidates`` scored by ``acquisition``, with the best few polished (inside
        ``box``, when given) and appended."""
        settings = self.settings
        score = acquisition(candidates)
        if len(self.numeric) and settings.gp_polish:
            leaders = candidates[np.argsort(-score, kind="stable")[:settings.gp_polish]]
            if settings.gp_polish_incumbent:
                leaders = np.concatenate([top[:1], leaders])
            if (settings.gp_mixed_search and settings.gp_snap and box is None
                    and not settings.gp_pending_penalty):
                polished = self._mixed_polish(model, best, acquisition, leaders)
            else:
                polished = self._polish(acquisition, leaders, box)
                if settings.gp_snap:
                    polished = self._snap(polished)
                    grids = self._search_grids(settings.gp_discrete_search,
                                               settings.gp_categorical_search)
                    if grids and box is None:
                        polished = coordinate_search(acquisition, polished, grids)
            if settings.gp_snap:
                polished = self._snap(polished)
            candidates = np.concatenate([candidates, polished])
            score = np.concatenate([score, acquisition(polished)])
        return candidates, score

    def _improvement_reference(self, history: History, y: np.ndarray) -> float:
        """The GP score that expected improvement is measured from: the best one, or on a
        plateau (the best score shared) ``gp_plateau_step`` steps below it, a step being
        the gap between the two best distinct scores. On a plateau a point predicted as
        good as the best, in a direction the results say does not matter (a tree's depth
        once pruning decides), still has an expected improvement from its variance, and
        the search spends its trials there (tree_cancer, seed 13: one error rate 20 times
        in results 27-47)."""
        best = float(y.min())
        if self.settings.gp_plateau_step and self._plateau(history):
            distinct = np.unique(y)
            if len(distinct) > 1:
                best -= self.settings.gp_plateau_step * float(distinct[1] - distinct[0])
        return best

    @staticmethod
    def _plateau(history: History) -> bool:
        """Whether the best score is shared by two or more completed experiments: then
        "the best point" is one of several, and a box around it is arbitrary."""
        scores = history.scores
        return bool(len(scores)) and int(np.count_nonzero(scores == scores.min())) >= 2

    def _gp_scores(self, history: History) -> np.ndarray:
        """The scores the GP is fitted to: warped (``gp_transform``), then centred on their
        ``gp_prior_mean`` quantile. The GP's prior mean is 0, so the centre is what it
        predicts far from every observation, where expected improvement comes from
        variance alone: at the mean, unexplored corners kept winning on rugged problems."""
        reference = (self.settings.n_startup if self.settings.gp_warp_reference == "startup"
                     else None)
        y = gp.transform(history.scores, self.settings.gp_transform, reference)
        if self.settings.gp_prior_mean is None:
            return y
        # With gp_prior_reference "startup", the quantile is taken over the first
        # n_startup results only: random draws, a fair sample of the space, where the
        # later results crowd round the best and make "3 in 4" ever more optimistic.
        reference = (y[:self.settings.n_startup]
                     if self.settings.gp_prior_reference == "startup" else y)
        return y - float(np.quantile(reference, self.settings.gp_prior_mean))

    def _trust_box(self, history: History, model: gp.GaussianProcess,
                   centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) over the ordered dimensions: a box around the best point whose side
        is replayed from the results in order (TuRBO's rule: 0.8 at the start, doubled after
        3 improvements in a row up to 1.6, halved after max(4, d) misses in a row, back to
        0.8 below ``gp_trust_min``, 0.1) and shared among the dimensions by the GP's length
        scales. Replaying keeps the rule a function of the history alone (no state between
        suggestions)."""
        scores = history.scores
        finite = scores[np.isfinite(scores)]
        start = min(self.settings.n_startup, len(scores))
        tolerance = max(4, len(self.numeric))
        span = float(np.ptp(finite)) if len(finite) else 0.0
        side, hits, misses = self.settings.gp_trust_side, 0, 0
        best = float(np.min(scores[:start])) if start else math.inf
        ties = self.settings.gp_trust_ties
        for value in scores[start:]:
            if value < best - 1e-3 * span:
                hits, misses = hits + 1, 0
            elif ties and value == best:
                pass  # a plateau: as good as the best is no reason to shrink
            else:
                hits, misses = 0, misses + 1
            best = min(best, float(value))
            if hits >= 3:
                side, hits = min(2.0 * side, 1.6), 0
            if misses >= tolerance:
                side, misses = side / 2.0, 0
                if side < self.settings.gp_trust_min:
                    side = self.settings.gp_trust_side
        scale = 1.0 / np.sqrt(model.inverse_scale2[self.numeric])
        scale = scale / math.exp(float(np.mean(np.log(scale))))
        half = 0.5 * side * np.clip(scale, 0.25, 4.0)
        if self.settings.gp_trust_step:
            # Never narrower than one step of an integer or discrete parameter, which a
            # smaller box could not move at all.
            half = np.maximum(half, self.resolution)
        c = centre[self.numeric]
        return np.clip(c - half, 0.0, 1.0), np.clip(c + half, 0.0, 1.0)

    def _snap(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` with every integer/discrete value moved to the nearest value it can take
        (its own encoding, which decodes back to it), so the GP scores what will run."""
        out = rows.copy()
        for column, centres, edges in self.grids:
            out[:, column] = centres[np.searchsorted(edges, out[:, column])]
        return out

    def _into_box(self, rows: np.ndarray, box: tuple[np.ndarray, np.ndarray],
                  rng: np.random.Generator) -> np.ndarray:
        """``rows`` whose ordered values outside the box are redrawn uniformly inside it."""
        low, high = box
        values = rows[:, self.numeric]
        outside = (values < low) | (values > high)
        fresh = low + rng.uniform(size=values.shape) * (high - low)
        out = rows.copy()
        out[:, self.numeric] = np.where(outside, fresh, values)
        return out

    def _mixed_polish(self, model: gp.GaussianProcess, best: float,
                      score: Callable[[np.ndarray], np.ndarray],
                      rows: np.ndarray) -> np.ndarray:
        """``rows`` (snapped) improved by ``gp_mixed_search`` rounds of: L-BFGS-B on the
        continuous parameters (closed-form gradient), then a coordinate search over every
        value of each integer/discrete parameter (and each categorical one with
        ``gp_categorical_search``): the GP only ever scores points that can run."""
        gridded = {column for column, _, _ in self.grids}
        continuous = np.array([c for c in self.numeric if c not in gridded], dtype=int)
        grids = self._search_grids(True, self.settings.gp_categorical_search)
        ones = np.ones(len(continuous))
        rows = self._snap(rows)
        for _ in range(self.settings.gp_mixed_search):
            rows = polish_continuous(model, best, rows, continuous, 0.0 * ones, ones,
                                      self.settings.gp_polish_iterations)
            if not grids:
                break
            rows = coordinate_search(score, rows, grids)
        return rows

    def _search_grids(self, discrete: bool, categorical: bool) -> list[tuple[int, np.ndarray]]:
        """(column, every value it can take) for the coordinate search: the integer and
        discrete parameters when ``discrete``, the categorical ones when ``categorical``."""
        grids = [(column, centres) for column, centres, _ in self.grids] if discrete else []
        if categorical:
            grids += [(int(j), np.arange(self.space.n_choices[j], dtype=float))
                      for j in self.categorical]
        return grids

    def _polish(self, acquisition: Callable[[np.ndarray], np.ndarray],
                rows: np.ndarray,
                box: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Maximise the expected improvement over the ordered dimensions from each row at
        once: one L-BFGS-B run on the sum (the rows do not interact), gradients by forward
        differences, all in one batched prediction per step."""
        from scipy.optimize import minimize

        numeric, step = self.numeric, 1e-5
        k, width = len(rows), len(numeric)
        batch = np.repeat(rows, width + 1, axis=0)  # per row: itself, then one step per dim
        offsets = np.zeros((k, width + 1, width))
        offsets[:, 1:, :] = np.eye(width) * step

        def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
            x = flat.reshape(k, 1, width) + offsets
            batch[:, numeric] = x.reshape(-1, width)
            value = -acquisition(batch).reshape(k, width + 1)
            return float(value[:, 0].sum()), ((value[:, 1:] - value[:, :1]) / step).ravel()

        if box is None:
            bounds = [(0.0, 1.0 - step)] * (k * width)
        else:
            low, high = np.minimum(box[0], 1.0 - step), np.minimum(box[1], 1.0 - step)
            bounds = list(zip(np.tile(low, k), np.tile(high, k)))
        result = minimize(objective, rows[:, numeric].ravel(), jac=True, method="L-BFGS-B",
                          bounds=bounds,
                          options={"maxiter": self.settings.gp_polish_iterations})
        out = rows.copy()
        out[:, numeric] = result.x.reshape(k, width)
        return out

    def _moves(self, rows: np.ndarray, scale: float, rng: np.random.Generator,
               categorical: bool = True) -> np.ndarray:
        """Copies of ``rows`` moved by N(0, scale) on ordered dimensions (reflected into
        [0, 1]) and, when ``categorical``, a new random choice in 1 of 5 unordered ones."""
        out = rows.copy()
        if len(self.numeric):
            moved = out[:, self.numeric] + rng.normal(0.0, scale, size=(len(out),
                                                                         len(self.numeric)))
            moved = np.abs(moved)
            moved = 1.0 - np.abs(1.0 - moved)
            out[:, self.numeric] = np.clip(moved, 0.0, 1.0)
        if categorical and len(self.categorical):
            fresh = self.space.sample_internal(rng, len(out))
            flip = rng.uniform(size=(len(out), len(self.categorical))) < 0.2
            values = out[:, self.categorical]
            values[flip] = fresh[:, self.categorical][flip]
            out[:, self.categorical] = values
        return out

    def rank(self, history: History, rows: np.ndarray) -> np.ndarray | None:
        if len(history.scores) < self.settings.n_startup:
            return None
        good, bad = self._estimators(history)
        return np.argsort(-(good.log_pdf(rows) - bad.log_pdf(rows)), kind="stable")


class _Parzen:
    """A mixture of equally weighted product kernels on ``centres``, plus the prior.

    ``bandwidth`` (kernels x ordered dimensions) defaults to the neighbour-gap widths
    among the centres themselves."""

    def __init__(self, search: ParzenSearch, centres: np.ndarray,
                 bandwidth: np.ndarray | None = None, kernels: tuple | None = None):
        settings = search.settings
        self.search = search
        self.centres = centres
        k = len(centres)
        weights = np.append(np.ones(k), settings.prior_weight)
        self.log_weights = np.log(weights / weights.sum())
        self.cdf = np.exp(self.log_weights).cumsum()  # for drawing a component
        self.cdf /= self.cdf[-1]
        # An unordered kernel keeps its own choice with probability ``keep``, else
        # draws uniformly: every choice keeps at least a prior share.
        share = settings.categorical_prior / (k + 1)
        self.keep = 1.0 / (1.0 + search.space.n_choices * share)  # per dimension
        if not len(search.numeric):
            return
        self.mu = centres[:, search.numeric]
        self.bandwidth = self._bandwidths(settings) if bandwidth is None else bandwidth
        (self.cdf_low, self.cdf_high, self.log_norm, self.precision, self.mu_precision,
         self.mu_sq_precision) = kernels or _kernel_terms(self.mu, self.bandwidth)

    def extended(self, rows: np.ndarray) -> _Parzen:
        """This mixture with a kernel on each of ``rows`` added (pending experiments past
        the cap): the new kernels' widths come from their gaps to their neighbours among
        all centres, the existing kernels keep theirs, so only the new rows are computed."""
        centres = np.concatenate([self.centres, rows])
        if not len(self.search.numeric):
            return _Parzen(self.search, centres)
        mu = rows[:, self.search.numeric]
        bandwidth = self._bandwidths(self.search.settings, np.concatenate([self.mu, mu]),
                                     len(mu))
        terms = _kernel_terms(mu, bandwidth)
        joined = tuple(np.concatenate([old, new]) for old, new in zip(
            (self.cdf_low, self.cdf_high, self.log_norm, self.precision, self.mu_precision,
             self.mu_sq_precision), terms))
        return _Parzen(self.search, centres, np.concatenate([self.bandwidth, bandwidth]),
                       joined)

    def grown(self, centres: np.ndarray) -> _Parzen:
        """The mixture a fresh build gives on ``centres``, whose first rows are this one's:
        every width is worked out again (a new kernel narrows its neighbours'), but the
        kernel terms only for the new kernels and those whose widths changed."""
        if not len(self.search.numeric):
            return _Parzen(self.search, centres)
        k = len(self.centres)
        mu = centres[:, self.search.numeric]
        bandwidth = self._bandwidths(self.search.settings, mu)
        rows = np.concatenate([np.flatnonzero((bandwidth[:k] != self.bandwidth).any(axis=1)),
                               np.arange(k, len(centres))])
        joined = []
        for old, new in zip((self.cdf_low, self.cdf_high, self.log_norm, self.precision,
                             self.mu_precision, self.mu_sq_precision),
                            _kernel_terms(mu[rows], bandwidth[rows])):
            both = np.empty((len(centres),) + old.shape[1:])
            both[:k] = old
            both[rows] = new
            joined.append(both)
        # einsum's sums over a row depend on how many rows it is given: this one is taken
        # over every kernel, as a fresh build takes it (the others are exact row by row).
        joined[5] = np.einsum("ij,ij->i", mu, joined[4])
        return _Parzen(self.search, centres, bandwidth, tuple(joined))

    def _bandwidths(self, settings: ParzenSettings, mu: np.ndarray | None = None,
                    last: int | None = None) -> np.ndarray:
        """(kernels, numeric dims) widths on the unit interval, from the neighbour gaps
        (of the ``last`` kernels only, when given)."""
        mu = self.mu if mu is None else mu
        k, width = mu.shape
        floor = np.maximum(1.0 / min(100.0, k + 2.0), settings.step_floor * self.search.resolution)
        if k == 0:
            return np.ones((0, width))
        order = np.argsort(mu, axis=0)
        columns = np.arange(width)
        sorted_mu = mu[order, columns]
        padded = np.concatenate([np.zeros((1, width)), sorted_mu, np.ones((1, width))])
        gaps = np.maximum(padded[1:-1] - padded[:-2], padded[2:] - padded[1:-1])
        if not settings.edge_gaps and k >= 2:
            # The outermost kernels look inwards only: the distance to the boundary says
            # nothing about how spread out the observations are.
            gaps[0] = sorted_mu[1] - sorted_mu[0]
            gaps[-1] = sorted_mu[-1] - sorted_mu[-2]
        widths = np.empty_like(gaps)
        widths[order, columns] = gaps
        if last is not None:
            widths = widths[k - last:]
        return np.clip(widths * settings.bandwidth_factor, floor, 1.0)

    def log_pdf(self, rows: np.ndarray) -> np.ndarray:
        """log density at each row. Works in place on one (rows x kernels) buffer:
        fresh temporaries of that size cost more in page faults than the arithmetic."""
        search = self.search
        k = len(self.centres)
        prior = np.full(len(rows), self.log_weights[k])
        for j in search.categorical:
            prior -= math.log(search.space.n_choices[j])
        if k == 0:
            return prior
        if len(search.numeric):
            x = rows[:, search.numeric]
            total = (x * x) @ self.precision.T  # sum_j (x_j - mu_kj)^2 / h_kj^2, expanded
            cross = x @ self.mu_precision.T
            cross *= 2.0
            total -= cross
            del cross
            total += self.mu_sq_precision[None, :]
            np.maximum(total, 0.0, out=total)
            total *= -0.5
            total -= self.log_norm[None, :]
        else:
            total = np.zeros((len(rows), k))
        for j in search.categorical:
            n_choices = search.space.n_choices[j]
            keep = self.keep[j]
            spread = (1.0 - keep) / n_choices
            match = rows[:, None, j] == self.centres[None, :, j]
            total += np.where(match, math.log(keep + spread), math.log(spread))
        total += self.log_weights[0]  # the kernels share one weight
        peak = np.maximum(total.max(axis=1), prior)
        total -= peak[:, None]
        # Terms below e^-40 of the largest change nothing, and exp() of very negative
        # numbers returns subnormals, which are a hundred times slower to compute. They
        # count as e^-40 each; past a few dozen kernels most terms (four in five at 1,000
        # results) are that far down, so exp() runs on the others only, gathered into one
        # short array (the same numbers; a masked exp() and a masked copy of the floor
        # cost twice as much, and exp() is most of a suggestion past the cap).
        flat = total.reshape(-1)
        near = np.flatnonzero(flat > -40.0)
        values = np.exp(flat[near])
        flat.fill(_EXP_FLOOR)
        flat[near] = values
        return peak + np.log(total.sum(axis=1) + np.exp(prior - peak))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        search = self.search
        k = len(self.centres)
        # What rng.choice(k + 1, size=n, p=weights) draws, without its checks of p.
        component = np.searchsorted(self.cdf, rng.random(n), side="right")
        out = search.space.sample_internal(rng, n)  # the prior's draws stay as they are
        from_kernel = component < k
        chosen = component[from_kernel]
        m = len(chosen)
        if m and len(search.numeric):
            from scipy.special import ndtri

            low, high = self.cdf_low[chosen], self.cdf_high[chosen]
            u = low + rng.uniform(size=low.shape) * (high - low)
            values = self.mu[chosen] + self.bandwidth[chosen] * ndtri(
                np.clip(u, 1e-15, 1 - 1e-15))
            np.clip(values, 0.0, 1.0, out=values)
            if len(search.categorical):
                out[np.flatnonzero(from_kernel)[:, None], search.numeric] = values
            else:  # every column is ordered: a plain row selection (np.ix_ costs more)
                out[from_kernel] = values
        for j in search.categorical:
            keep = rng.uniform(size=m) < self.keep[j]
            values = out[from_kernel, j]
            values[keep] = self.centres[chosen[keep], j]
            out[from_kernel, j] = values
        return out


def _kernel_terms(mu: np.ndarray, bandwidth: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per kernel: its truncation's CDF at 0 and 1, the log of its normalising constants
    over every ordered dimension, and the terms that expand sum_j (x_j - mu_kj)^2 / h_kj^2
    into two matrix products over j (see `_Parzen.log_pdf`)."""
    from scipy.special import ndtr

    cdf_low = ndtr(-mu / bandwidth)
    cdf_high = ndtr((1.0 - mu) / bandwidth)
    log_norm = (np.log(np.maximum(cdf_high - cdf_low, 1e-300))
                + np.log(bandwidth) + _LOG_SQRT_2PI).sum(axis=1)
    precision = 1.0 / bandwidth**2
    mu_precision = mu * precision
    mu_sq_precision = np.einsum("ij,ij->i", mu, mu_precision)
    return cdf_low, cdf_high, log_norm, precision, mu_precision, mu_sq_precision
