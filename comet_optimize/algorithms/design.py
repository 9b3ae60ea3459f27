"""Start-up designs for `bayes`: where the first experiments go, before any model.

Why a design and not random draws: the first ten results are all the model has when
it starts, and with parallel workers the first model picks are made on seven of them.
Random draws leave holes and clumps (ten uniform points leave a quarter of a 2-D
projection empty about one time in four); a design spreads them, fixed by the
search's seed, so point i is the same whichever worker hands it out.

Both designs work on the unit box of `space.py` (the user's own distribution), one
row per start-up experiment.
"""

from __future__ import annotations

import numpy as np


def _primes(count: int) -> list[int]:
    """The first ``count`` primes (a Halton sequence needs one base per parameter)."""
    primes: list[int] = []
    candidate = 2
    while len(primes) < count:
        if all(candidate % p for p in primes if p * p <= candidate):
            primes.append(candidate)
        candidate += 1
    return primes


def scrambled_halton(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """(n, d) points of a Halton sequence with random digit permutations.

    Coordinate j of point i is the radical inverse of i in the j-th prime base, each
    digit position sent through its own random permutation of the base's digits. The
    sequence is even in every projection onto one parameter and, unlike a Latin
    hypercube, in low-dimensional projections onto several; the permutations break the
    correlation between large bases that plain Halton points show, and make point 0
    something other than the origin."""
    out = np.zeros((n, d))
    index = np.arange(n)
    for j, base in enumerate(_primes(d)):
        # Enough digits that the last one moves a point by less than 1e-12.
        digits = int(np.ceil(12 * np.log(10) / np.log(base)))
        rest, scale = index.copy(), 1.0 / base
        for _ in range(digits):
            permutation = rng.permutation(base)
            out[:, j] += permutation[rest % base] * scale
            rest //= base
            scale /= base
    return out


def maximin_latin_hypercube(n: int, d: int, rng: np.random.Generator,
                            tries: int = 64) -> np.ndarray:
    """(n, d) points, one in each of n equal strata of every parameter: the best of
    ``tries`` random Latin hypercubes by the smallest distance between two points."""
    best, spread = np.empty((0, d)), -1.0
    for _ in range(tries):
        u = (np.argsort(rng.random((n, d)), axis=0) + rng.random((n, d))) / n
        diff = u[:, None, :] - u[None, :, :]
        closest = (diff * diff).sum(axis=2)[np.triu_indices(n, 1)].min(initial=np.inf)
        if closest > spread:
            best, spread = u, closest
    return best
