"""A small Gaussian-process surrogate for `bayes`, in numpy and scipy only.

Why a GP next to the Parzen estimator: on smooth spaces a GP learns how the
score changes with each parameter (one length scale per dimension) and so
places the next trial far more precisely than kernel density ratios can.

The model, chosen for robustness rather than fidelity:

* Inputs are the space's internal rows: ordered parameters on [0, 1], unordered
  ones as choice indices. The kernel is an ARD Matérn-5/2 of one distance in
  which an ordered dimension contributes ``((x - x') / l)^2`` and an unordered
  one ``[x != x'] / l^2`` (a mismatch costs a fixed amount, learnt per
  dimension): categories have no order and no geometry to invent.
* Scores are warped before fitting (``log_transform``: linear near the best,
  logarithmic in the tail; or the normal quantiles of their ranks), so a
  heavy-tailed loss (one diverged run at 1e6 among values near 0.1) cannot
  flatten the model, and failed trials (``inf``) count as the worst. The caller
  chooses their centre, which is what the GP predicts far from every point
  (`bayes` uses their 75th percentile).
* Hyperparameters are the maximum a-posteriori values under a log-normal prior
  on the length scales that widens with the dimension (``sqrt(2) + log(d) / 2``
  in log space, as in "vanilla BO" for high dimensions), so that an 8-D problem
  with 20 points does not get length scales fitted to noise. They are fitted on
  at most ``fit_size`` points (the best half and a random rest) to bound the
  cubic cost; the posterior then uses every point.

Everything here is a pure function of its inputs (and the rng it is given).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular
from scipy.linalg.lapack import dpotrf as potrf
from scipy.linalg.lapack import dpotrs as potrs
from scipy.optimize import minimize
from scipy.special import log_ndtr, ndtr, ndtri

_SQRT5 = math.sqrt(5.0)
_LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(0.5))
_LOG_SIGNAL_BOUNDS = (math.log(0.05), math.log(20.0))
_LOG_SCALE_BOUNDS = (math.log(1e-2), math.log(1e3))


def rank_transform(scores: np.ndarray) -> np.ndarray:
    """Scores (lower is better, ``inf`` allowed) to standard normal quantiles of their ranks;
    tied scores share their average rank."""
    from scipy.stats import rankdata

    ranks = rankdata(scores, method="average")
    return ndtri((ranks - 0.5) / len(scores))


def log_transform(scores: np.ndarray, reference: int | None = None,
                  scale: float | None = None) -> np.ndarray:
    """Scores to ``log1p((y - min) / c)`` with ``c`` a tenth of the median excess, then
    standardised: linear near the best (where precision matters), logarithmic in the
    tail (so one diverged run cannot flatten the model). ``inf`` becomes the worst
    finite value.

    ``reference``: ``c`` is taken over the first ``reference`` scores only (a search's
    start-up, random draws), not over all: as results crowd round the best, the median
    excess of all of them shrinks, and with it ``c``, so the warp would stretch ever
    smaller differences near the best into large ones. ``scale``: ``c`` itself (of the
    half excess, as `log_scale` gives it)."""
    half = _half_excess(scores)
    return _log_warp(half, _scale_of(half, reference) if scale is None else scale)[0]


def _half_excess(scores: np.ndarray) -> np.ndarray:
    """Half of each score's excess over the best (``inf`` as the worst finite score).
    Halves, and logarithms in the warp, so that no finite score overflows: a diverged
    run may log 1e308 beside 0.01 (excess / c would be inf), or -1e308 beside 1e308."""
    finite = np.isfinite(scores)
    y = np.where(finite, scores, np.max(scores[finite]) if finite.any() else 0.0)
    return 0.5 * y - 0.5 * y.min()


def _scale_of(half: np.ndarray, reference: int | None) -> float:
    sample = half if reference is None else half[:reference]
    return float(np.median(sample)) * 0.1 or float(half.max()) or 0.5


def _log_warp(half: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """The standardised ``log1p(half / scale)`` and the spread it was divided by."""
    with np.errstate(divide="ignore"):
        z = np.logaddexp(0.0, np.log(half) - math.log(scale))
    spread = float(z.std()) or 1.0
    return (z - z.mean()) / spread, spread


def log_scale(scores: np.ndarray, reference: int | None = None) -> float:
    """The log warp's ``c`` (of the half excess): a tenth of the median over the first
    ``reference`` scores (all when None)."""
    return _scale_of(_half_excess(scores), reference)


def warp_log_likelihood(scores: np.ndarray, scale: float, model: GaussianProcess,
                        centre: float | None) -> float:
    """How well the GP's kernel explains the raw scores through the log warp of scale
    ``scale``: the log density of the scores (warped, standardised, less ``centre`` of
    the warped values' quantile the caller uses) under a GP of ``model``'s correlations
    with its amplitude profiled out, plus the warp's log-Jacobian, so warps of
    different scales are compared on the raw scores (a warped GP's marginal
    likelihood). Up to a constant shared by every scale."""
    half = _half_excess(scores)
    u, spread = _log_warp(half, scale)
    if centre is not None:
        u = u - float(np.quantile(u, centre))
    n = len(u)
    quadratic = float(u @ cho_solve(model.factor, u))
    jacobian = -float(np.sum(np.log(scale + half))) - n * math.log(spread)
    return -0.5 * n * math.log(max(quadratic, 1e-300) / n) + jacobian


def transform(scores: np.ndarray, kind: str, reference: int | None = None) -> np.ndarray:
    """The score warp named ``kind``: "rank" or "log" (see their functions; ``reference``
    is the log warp's)."""
    return rank_transform(scores) if kind == "rank" else log_transform(scores, reference)


def _squared_terms(a: np.ndarray, b: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    """(len(a), len(b), d): per-dimension squared distance, a mismatch (0/1) if unordered."""
    diff = a[:, None, :] - b[None, :, :]
    terms = diff * diff
    if categorical.any():
        terms[:, :, categorical] = (diff[:, :, categorical] != 0).astype(float)
    return terms


def _matern(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matérn-5/2 of the squared distance and its derivative with respect to r^2."""
    r = np.sqrt(np.maximum(r2, 0.0))
    e = np.exp(-_SQRT5 * r)
    k = (1.0 + _SQRT5 * r + 5.0 / 3.0 * r2) * e
    dk_dr2 = -5.0 / 6.0 * (1.0 + _SQRT5 * r) * e
    return k, dk_dr2


def _matern_value(r2: np.ndarray) -> np.ndarray:
    """Matérn-5/2 of the squared distance alone, in place on ``r2`` (predictions need no
    derivative, and their matrices are the largest: candidates x history)."""
    np.maximum(r2, 0.0, out=r2)
    r = np.sqrt(r2)
    r *= _SQRT5
    r2 *= 5.0 / 3.0
    r2 += r
    r2 += 1.0
    np.negative(r, out=r)
    np.exp(r, out=r)
    r2 *= r
    return r2


@dataclass
class GaussianProcess:
    """A fitted GP: hyperparameters, training rows and the Cholesky factor of their kernel."""

    x: np.ndarray
    y: np.ndarray
    categorical: np.ndarray  # boolean mask over dimensions
    inverse_scale2: np.ndarray  # 1 / l^2 per dimension
    signal: float
    noise: float
    factor: tuple[np.ndarray, bool]
    alpha: np.ndarray  # K^-1 y

    def _cross(self, rows: np.ndarray) -> np.ndarray:
        # Squared distances, expanded into matrix products for the ordered dimensions.
        ordered = ~self.categorical
        w = self.inverse_scale2
        r2 = np.zeros((len(rows), len(self.x)))
        if ordered.any():
            a, b, wo = rows[:, ordered], self.x[:, ordered], w[ordered]
            r2 += (a * a) @ wo[:, None] + ((b * b) @ wo)[None, :] - 2.0 * (a * wo) @ b.T
        for j in np.flatnonzero(self.categorical):
            r2 += w[j] * (rows[:, None, j] != self.x[None, :, j])
        return np.maximum(r2, 0.0)

    def predict(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation (of the latent function) at each row."""
        k = _matern_value(self._cross(rows))
        k *= self.signal
        mean = k @ self.alpha
        v = solve_triangular(self.factor[0], k.T, lower=self.factor[1])
        var = np.maximum(self.signal - np.einsum("ij,ij->j", v, v), 1e-12)
        return mean, np.sqrt(var)

    def sample(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One draw of the latent function at ``rows`` jointly from the posterior (a
        Thompson sample: parallel workers drawing their own spread out by chance)."""
        k = _matern_value(self._cross(rows))
        k *= self.signal
        mean = k @ self.alpha
        v = solve_triangular(self.factor[0], k.T, lower=self.factor[1])
        shell = GaussianProcess(rows, self.y, self.categorical, self.inverse_scale2,
                                self.signal, self.noise, self.factor, self.alpha)
        cov = _matern_value(shell._cross(rows)) * self.signal - v.T @ v
        cov[np.diag_indices_from(cov)] += 1e-6 * self.signal
        lower = _cholesky(cov)[0]
        return mean + np.tril(lower) @ rng.standard_normal(len(rows))

    def correlation(self, rows: np.ndarray, others: np.ndarray) -> np.ndarray:
        """(len(rows), len(others)) prior correlation of the function at the two sets."""
        shell = GaussianProcess(others, self.y, self.categorical, self.inverse_scale2,
                                self.signal, self.noise, self.factor, self.alpha)
        return _matern_value(shell._cross(rows))

    def condition(self, rows: np.ndarray, values: np.ndarray) -> GaussianProcess:
        """The same hyperparameters with more observations (pending rows, believed values)."""
        return _posterior(np.concatenate([self.x, rows]), np.concatenate([self.y, values]),
                          self.categorical, self.inverse_scale2, self.signal, self.noise)

    def loo_rank_correlation(self) -> float:
        """Spearman correlation between leave-one-out predictions and the observations:
        how well the model would have predicted each point without it (closed form)."""
        from scipy.stats import spearmanr

        inverse = cho_solve(self.factor, np.eye(len(self.y)))
        loo = self.y - self.alpha / np.diag(inverse)
        if np.ptp(loo) == 0 or np.ptp(self.y) == 0:
            return 0.0
        return float(spearmanr(loo, self.y).statistic)


def _posterior(x: np.ndarray, y: np.ndarray, categorical: np.ndarray, w: np.ndarray,
               signal: float, noise: float) -> GaussianProcess:
    shell = GaussianProcess(x, y, categorical, w, signal, noise, (np.empty(0), True),
                            np.empty(0))
    k = _matern_value(shell._cross(x))
    k *= signal
    k[np.diag_indices_from(k)] += noise + 1e-8
    factor = _cholesky(k)
    return GaussianProcess(x, y, categorical, w, signal, noise, factor, cho_solve(factor, y))


def refit_scores(model: GaussianProcess, y: np.ndarray) -> GaussianProcess:
    """``model`` with the same rows and hyperparameters, fitted to other scores (the
    kernel's factor is reused)."""
    return GaussianProcess(model.x, y, model.categorical, model.inverse_scale2, model.signal,
                           model.noise, model.factor, cho_solve(model.factor, y))


def _cholesky(k: np.ndarray) -> tuple[np.ndarray, bool]:
    jitter = 1e-8
    for _ in range(8):
        try:
            return cho_factor(k, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            k[np.diag_indices_from(k)] += jitter
            jitter *= 10
    raise np.linalg.LinAlgError("kernel matrix is not positive definite")


def fit(x: np.ndarray, y: np.ndarray, categorical: np.ndarray, rng: np.random.Generator,
        fit_size: int = 100, max_iterations: int = 40,
        starts: tuple[float, ...] = (math.log(0.3), 1.0),
        prior_shift: float = 0.0, noise_centre: float = 1e-3) -> GaussianProcess:
    """MAP hyperparameters on at most ``fit_size`` rows, then the posterior on all rows.

    ``starts``: log length scales to start from (the one with the best objective is used).
    ``prior_shift``: added to the centre of the log length-scale prior of the ordered
    dimensions. The prior is a normal on log l, so its MAP is pulled to the centre
    itself; a shift of minus the prior's variance (-3) moves that pull to the mode of the
    matching log-normal density on l, which is where a MAP in l (as BoTorch's) is
    pulled: 0.3-0.65 on the unit cube for 2-10 dimensions rather than 6-13. Unordered
    dimensions keep the centre: a mismatch costs ``1 / l^2``, and short scales there
    would make every category its own, unrelated function.

    ``noise_centre``: the centre of the log-normal prior on the noise variance (of the
    standardised scores); larger values let the fit smooth over a rugged landscape.

    ``y`` should already be transformed (e.g. `rank_transform`), mean 0 and scale 1.
    """
    n, d = x.shape
    subset = np.arange(n)
    if n > fit_size:
        # The best half (where the search is) and a random draw of the rest (the overview).
        order = np.argsort(y, kind="stable")
        half = fit_size // 2
        rest = rng.choice(order[half:], size=fit_size - half, replace=False)
        subset = np.concatenate([order[:half], rest])
    terms = _squared_terms(x[subset], x[subset], categorical)
    ys = y[subset]
    terms_flat = terms.reshape(-1, d)
    prior_mean = np.where(categorical, 0.0, prior_shift) + math.sqrt(2.0) + 0.5 * math.log(d)
    prior_var = 3.0

    eye = np.eye(len(ys))
    diagonal = np.diag_indices(len(ys))

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        log_l, log_signal, log_noise = theta[:d], theta[d], theta[d + 1]
        w = np.exp(-2.0 * log_l)
        signal, noise = math.exp(log_signal), math.exp(log_noise)
        base, dbase = _matern(terms @ w)
        k = signal * base
        k[diagonal] += noise + 1e-8
        lower, info = potrf(k, lower=True, clean=False, overwrite_a=True)
        if info:
            return 1e10, np.zeros_like(theta)
        alpha, _ = potrs(lower, ys, lower=True)
        inverse, _ = potrs(lower, eye, lower=True)
        nll = 0.5 * ys @ alpha + np.log(lower[diagonal]).sum()
        inner = inverse - np.outer(alpha, alpha)  # K^-1 - a a^T
        grad = np.empty_like(theta)
        # dK/dlog l_j = signal * dk/dr2 * (-2 w_j D_j)
        m = inner * dbase
        m *= signal
        grad[:d] = -(m.reshape(-1) @ terms_flat) * w
        grad[d] = 0.5 * signal * float(np.einsum("ij,ij->", inner, base))
        grad[d + 1] = 0.5 * np.trace(inner) * noise
        # Log-normal prior on length scales, weak prior keeping the noise small.
        nll += 0.5 * np.sum((log_l - prior_mean) ** 2) / prior_var
        grad[:d] += (log_l - prior_mean) / prior_var
        nll += 0.5 * (log_noise - math.log(noise_centre)) ** 2 / 4.0
        grad[d + 1] += (log_noise - math.log(noise_centre)) / 4.0
        return float(nll), grad

    bounds = [_LOG_SCALE_BOUNDS] * d + [_LOG_SIGNAL_BOUNDS, _LOG_NOISE_BOUNDS]
    # Several starts (short length scales: a rugged fit; the prior's centre: a smooth
    # one; the likelihood often has a mode near each): the optimiser runs from the one
    # with the best objective.
    theta0 = None
    for start in starts:
        trial = np.concatenate([np.full(d, start), [0.0, math.log(1e-2)]])
        trial[:d][categorical] = 0.0  # a mismatch of r^2 = 1 is a fair start whatever d is
        value = objective(trial)[0]
        if theta0 is None or value < theta0[0]:
            theta0 = (value, trial)
    result = minimize(objective, theta0[1], jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": max_iterations})
    theta = result.x
    return _posterior(x, y, categorical, np.exp(-2.0 * theta[:d]), math.exp(theta[d]),
                      math.exp(theta[d + 1]))


def log_expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """log E[max(best - f, 0)], stable far into the tail (lower is better)."""
    z = (best - mean) / std
    out = np.empty_like(z)
    ordinary = z > -6.0
    zo = z[ordinary]
    out[ordinary] = np.log(np.maximum(
        zo * ndtr(zo) + np.exp(-0.5 * zo * zo) / math.sqrt(2 * math.pi), 1e-300))
    zt = z[~ordinary]
    # z Phi(z) + phi(z) ~ phi(z) / z^2 for z -> -inf
    out[~ordinary] = (-0.5 * zt * zt - 0.5 * math.log(2 * math.pi) - 2.0 * np.log(-zt)
                      + np.log1p(-3.0 / (zt * zt)))
    return out + np.log(std)


def log_probability_of_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    return log_ndtr((best - mean) / std)


def predict_with_gradient(model: GaussianProcess, rows: np.ndarray, columns: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation at ``rows`` and their gradients with respect
    to the ordered ``columns`` of each row ((len(rows), len(columns)) each), in closed
    form: what the acquisition's polish needs, at one prediction per step instead of one
    per dimension (finite differences)."""
    r2 = model._cross(rows)
    k, dk_dr2 = _matern(r2)
    k *= model.signal
    dk_dr2 *= model.signal
    mean = k @ model.alpha
    u = cho_solve(model.factor, k.T)  # K^-1 k, (n, m)
    var = model.signal - np.einsum("ij,ji->i", k, u)
    clipped = var <= 1e-12
    std = np.sqrt(np.maximum(var, 1e-12))
    # dk_i/dx_c = dk/dr2 * 2 w_c (x_c - x_ic)
    diff = rows[:, None, columns] - model.x[None, :, columns]  # (m, n, c)
    g = dk_dr2[:, :, None] * diff * (2.0 * model.inverse_scale2[columns])
    dmean = np.einsum("mnc,n->mc", g, model.alpha)
    dvar = -2.0 * np.einsum("mnc,nm->mc", g, u)
    dstd = np.where(clipped[:, None], 0.0, dvar / (2.0 * std[:, None]))
    return mean, std, dmean, dstd


def log_expected_improvement_with_gradient(
        mean: np.ndarray, std: np.ndarray, dmean: np.ndarray, dstd: np.ndarray,
        best: float) -> tuple[np.ndarray, np.ndarray]:
    """`log_expected_improvement` and its gradient through the mean's and the standard
    deviation's: d/dmean = -Phi(z) / (h(z) std), d/dstd = (1 - z Phi(z) / h(z)) / std,
    with h(z) = z Phi(z) + phi(z) and the ratio Phi / h taken in logs (stable in the
    tail, where both underflow)."""
    value = log_expected_improvement(mean, std, best)
    z = (best - mean) / std
    ratio = np.exp(log_ndtr(z) - (value - np.log(std)))  # Phi(z) / h(z)
    d_mean = -ratio / std
    d_std = (1.0 - z * ratio) / std
    return value, d_mean[:, None] * dmean + d_std[:, None] * dstd
