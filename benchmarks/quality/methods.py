"""Search methods under test. Each is `run(problem, n_trials, seed) -> losses in trial order`.

* `ours-*` drive `comet_optimize` exactly as a user script would: public API, a fresh
  file store per run (its cost is part of what we measure).
* `optuna-*` and `hyperopt-tpe` get the same space translated into their own terms:

  | Comet parameter            | Optuna                            | Hyperopt              |
  |----------------------------|-----------------------------------|-----------------------|
  | double uniform / linear    | suggest_float(min, max)           | hp.uniform            |
  | double loguniform          | suggest_float(min, max, log=True) | hp.loguniform         |
  | double normal (mu, sigma)  | uniform on mu +- 3 sigma, cut to  | hp.normal, clipped to |
  |                            | min/max (no normal prior)         | min/max when given    |
  | double lognormal           | log-uniform on exp(mu +- 3 sigma) | hp.lognormal, clipped |
  | integer uniform            | suggest_int(min, max)             | hp.uniformint         |
  | integer loguniform         | suggest_int(min, max, log=True)   | hp.qloguniform(q=1)   |
  | integer linear (unordered) | suggest_categorical(range)        | hp.choice(range)      |
  | discrete, categorical      | suggest_categorical(values)       | hp.choice(values)     |

  Integer `linear` means "independent values" (a seed) in our SPEC, hence categorical.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from problems import Problem

REPO = Path(__file__).resolve().parents[2]
Method = Callable[[Problem, int, int], list[float]]


# --- ours: through the public API, like a user --------------------------------------------

def comet_config(problem: Problem, algorithm: str, n_trials: int, seed: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"metric": "loss", "objective": "minimize",
                            "maxCombo": n_trials, "seed": seed}
    if algorithm == "grid":
        spec.update(randomize=True, gridSize=max(10, math.ceil(n_trials ** 0.5)))
    return {"algorithm": algorithm, "spec": spec, "parameters": problem.parameters,
            "name": f"{problem.name}-{algorithm}-{seed}"}


def _ours(algorithm: str) -> Method:
    def run(problem: Problem, n_trials: int, seed: int) -> list[float]:
        if str(REPO) not in sys.path:  # benchmark the working tree
            sys.path.insert(0, str(REPO))
        os.environ.pop("COMET_OPTIMIZER_ID", None)
        from comet_optimize import Optimizer

        store = tempfile.mkdtemp(prefix="cobench-")
        try:
            opt = Optimizer(comet_config(problem, algorithm, n_trials, seed),
                            verbose=0, store=store)
            losses = []
            for experiment in opt.get_experiments():
                loss = problem.objective(experiment.params)
                experiment.log_metric("loss", loss)
                losses.append(loss)
            return losses
        finally:
            shutil.rmtree(store, ignore_errors=True)

    return run


# --- Optuna ---------------------------------------------------------------------------

def _optuna_suggest(trial: Any, name: str, spec: dict[str, Any]) -> Any:
    kind, scaling = spec["type"], spec.get("scalingType", "uniform")
    if kind in ("discrete", "categorical"):
        return trial.suggest_categorical(name, spec["values"])
    lo, hi = spec.get("min", -math.inf), spec.get("max", math.inf)
    if scaling == "normal":
        lo = max(lo, spec["mu"] - 3 * spec["sigma"])
        hi = min(hi, spec["mu"] + 3 * spec["sigma"])
    elif scaling == "lognormal":
        lo = max(lo, math.exp(spec["mu"] - 3 * spec["sigma"]))
        hi = min(hi, math.exp(spec["mu"] + 3 * spec["sigma"]))
    log = scaling in ("loguniform", "lognormal")
    if kind == "integer":
        if scaling == "linear":
            return trial.suggest_categorical(name, list(range(int(lo), int(hi) + 1)))
        return trial.suggest_int(name, math.ceil(lo), math.floor(hi), log=log)
    return trial.suggest_float(name, lo, hi, log=log)


def _optuna(make_sampler: Callable[[int], Any]) -> Method:
    def run(problem: Problem, n_trials: int, seed: int) -> list[float]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction="minimize", sampler=make_sampler(seed))
        losses = []
        for _ in range(n_trials):
            trial = study.ask()
            params = {n: _optuna_suggest(trial, n, s) for n, s in problem.parameters.items()}
            loss = problem.objective(params)
            study.tell(trial, loss)
            losses.append(loss)
        return losses

    return run


def _tpe(seed: int) -> Any:
    from optuna.samplers import TPESampler

    return TPESampler(seed=seed)  # 5.0 defaults: multivariate and constant liar on


def _tpe_independent(seed: int) -> Any:
    from optuna.samplers import TPESampler

    return TPESampler(multivariate=False, seed=seed)


def _gp(seed: int) -> Any:
    import torch  # the bench-gp extra; one thread, like every other method here
    from optuna.samplers import GPSampler

    torch.set_num_threads(1)
    return GPSampler(seed=seed)  # 5.0 defaults: log-EI, 10 random start-up trials


def _optuna_random(seed: int) -> Any:
    from optuna.samplers import RandomSampler

    return RandomSampler(seed=seed)


# --- Hyperopt -------------------------------------------------------------------------

def _hyperopt_space(name: str, spec: dict[str, Any]) -> tuple[Any, Callable[[Any], Any]]:
    """The hyperopt expression for one parameter and how to turn its sample back."""
    from hyperopt import hp

    kind, scaling = spec["type"], spec.get("scalingType", "uniform")
    if kind in ("discrete", "categorical"):
        return hp.choice(name, spec["values"]), lambda v: v
    lo, hi = spec.get("min", -math.inf), spec.get("max", math.inf)

    def clip(v: Any) -> Any:
        v = min(max(float(v), lo), hi)
        return int(round(v)) if kind == "integer" else v

    if kind == "integer" and scaling == "linear":
        return hp.choice(name, list(range(int(lo), int(hi) + 1))), int
    if scaling == "normal":
        q = 1 if kind == "integer" else None
        expr = hp.qnormal(name, spec["mu"], spec["sigma"], q) if q else \
            hp.normal(name, spec["mu"], spec["sigma"])
    elif scaling == "lognormal":
        expr = hp.qlognormal(name, spec["mu"], spec["sigma"], 1) if kind == "integer" else \
            hp.lognormal(name, spec["mu"], spec["sigma"])
    elif scaling == "loguniform":
        expr = hp.qloguniform(name, math.log(lo), math.log(hi), 1) if kind == "integer" else \
            hp.loguniform(name, math.log(lo), math.log(hi))
    elif kind == "integer":
        expr = hp.uniformint(name, lo, hi)
    else:
        expr = hp.uniform(name, lo, hi)
    return expr, clip


def hyperopt_tpe(problem: Problem, n_trials: int, seed: int) -> list[float]:
    from hyperopt import STATUS_OK, Trials, fmin, tpe

    parts = {n: _hyperopt_space(n, s) for n, s in problem.parameters.items()}
    losses: list[float] = []

    def objective(sample: dict[str, Any]) -> dict[str, Any]:
        params = {n: parts[n][1](sample[n]) for n in problem.parameters}
        loss = problem.objective(params)
        losses.append(loss)
        return {"loss": loss if math.isfinite(loss) else 1e300, "status": STATUS_OK}

    fmin(objective, {n: expr for n, (expr, _) in parts.items()}, algo=tpe.suggest,
         max_evals=n_trials, trials=Trials(), rstate=np.random.default_rng(seed),
         show_progressbar=False)
    return losses


# --- The list -------------------------------------------------------------------------

METHODS: dict[str, Method] = {
    "ours-bayes": _ours("bayes"),
    "ours-random": _ours("random"),
    "ours-grid": _ours("grid"),
    "optuna-tpe": _optuna(_tpe),
    "optuna-tpe-indep": _optuna(_tpe_independent),
    "optuna-gp": _optuna(_gp),
    "optuna-random": _optuna(_optuna_random),
    "hyperopt-tpe": hyperopt_tpe,
}
OURS = [m for m in METHODS if m.startswith("ours-")]


def applies(method: str, problem: Problem) -> bool:
    """Grid search only runs where a grid is a sensible choice."""
    return method != "ours-grid" or problem.grid
