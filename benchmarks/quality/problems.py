"""The benchmark's problems: a Comet parameter space, a deterministic loss, its optimum.

Every objective takes the parameter dict a worker would get (`experiment.params`) and
returns a loss to minimize. ML objectives use fixed folds and fixed model seeds, so the
same parameters always give the same loss; they memoize repeated parameter sets.
"""

from __future__ import annotations

import csv
import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parent / "data"
Params = dict[str, Any]


@dataclass(frozen=True, eq=False)  # hashed by identity: one object per problem
class Problem:
    name: str
    description: str
    parameters: dict[str, dict[str, Any]]  # Comet "parameters" section
    objective: Callable[[Params], float]
    # the known optimum (a value, or a function computing it); None = unknown, so the
    # pooled best stored in data/optima.json stands in for it
    optimum: float | Callable[[], float] | None
    pool_size: int = 10_000  # random draws used to estimate the random-search baseline
    grid: bool = False  # whether `ours-grid` is a sensible method here
    slow: bool = False  # ML objectives: the random pool is cached under data/


def _double(lo: float, hi: float, scaling: str = "uniform") -> dict[str, Any]:
    return {"type": "double", "min": lo, "max": hi, "scalingType": scaling}


def _integer(lo: int, hi: int, scaling: str = "uniform") -> dict[str, Any]:
    return {"type": "integer", "min": lo, "max": hi, "scalingType": scaling}


def _memoized(objective: Callable[[Params], float]) -> Callable[[Params], float]:
    """Cache a deterministic objective on its parameter values (order-free key)."""

    @functools.lru_cache(maxsize=100_000)
    def cached(key: tuple[tuple[str, Any], ...]) -> float:
        return objective(dict(key))

    @functools.wraps(objective)
    def wrapper(params: Params) -> float:
        return cached(tuple(sorted(params.items())))

    return wrapper


# --- 1. Branin -------------------------------------------------------------------------

def branin(p: Params) -> float:
    x1, x2 = float(p["x1"]), float(p["x2"])
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


# --- 2. Hartmann6 ----------------------------------------------------------------------

_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                 [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                        [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])


def hartmann6(p: Params) -> float:
    x = np.array([float(p[f"x{i}"]) for i in range(6)])
    return float(-_H_ALPHA @ np.exp(-np.sum(_H_A * (x - _H_P) ** 2, axis=1)))


# --- 3, 4. BBOB functions from COCO ----------------------------------------------------

@functools.cache
def _bbob(function: int, dimension: int) -> Any:
    import cocoex  # benchmark-only dependency

    return cocoex.BareProblem("bbob", function, dimension, 1)  # instance 1, fixed


def _bbob_objective(function: int, dimension: int) -> Callable[[Params], float]:
    def objective(p: Params) -> float:
        x = np.array([float(p[f"x{i}"]) for i in range(dimension)])
        return float(_bbob(function, dimension)(x))

    objective.__name__ = f"bbob_f{function}_{dimension}d"
    return objective


def _bbob_optimum(function: int, dimension: int) -> float:
    return float(_bbob(function, dimension).best_value())


# --- 5. Mixed space: every type and scaling, with interactions -------------------------

_ACT_SHIFT = {"relu": 0.0, "tanh": 0.5, "sigmoid": 1.0, "linear": -0.5}
_ACT_COST = {"relu": 0.0, "tanh": 0.4, "sigmoid": 0.8, "linear": 1.5}
_SEED_COST = [0.6, 0.3, 0.9, 0.5, 0.8, 0.4, 0.7, 0.0, 1.0, 0.2]  # unordered: no trend

MIXED_PARAMETERS = {
    "lr": _double(1e-5, 1.0, "loguniform"),
    "momentum": {"type": "double", "scalingType": "normal", "mu": 0.5, "sigma": 0.2,
                 "min": 0.0, "max": 1.0},
    "x": _double(-5.0, 5.0),
    "width": _integer(1, 20),
    "seed": _integer(0, 9, "linear"),
    "scale": {"type": "discrete", "values": [0.1, 0.2, 0.5, 1.0, 2.0]},
    "act": {"type": "categorical", "values": ["relu", "tanh", "sigmoid", "linear"]},
}


def mixed(p: Params) -> float:
    """Zero at act=relu, seed=7, scale=1, lr=1e-3, x=2*scale, width=5+10*momentum."""
    act, scale = p["act"], float(p["scale"])
    lr_term = (math.log10(float(p["lr"])) + 3 - _ACT_SHIFT[act]) ** 2
    x_term = (float(p["x"]) - 2 * scale) ** 2 / 4
    width_term = ((int(p["width"]) - 5 - 10 * float(p["momentum"])) / 4) ** 2
    act_term = _ACT_COST[act] * (1 + abs(math.log2(scale)))
    return lr_term + x_term + width_term + act_term + _SEED_COST[int(p["seed"])]


# --- 6. Log-scaled synthetic: 4 loguniform doubles spanning decades --------------------

_LOG_BOUNDS = {"a": (1e-6, 1.0), "b": (1e-3, 1e3), "c": (1e-4, 10.0), "d": (1e-2, 1e4)}
_LOG_TARGET = np.array([-4.5, 1.2, -0.3, 0.5])  # log10 of the optimum
_LOG_MATRIX = np.array([[1.0, 0.5, 0.0, 0.0], [0.5, 1.0, 0.3, 0.0],
                        [0.0, 0.3, 1.0, 0.2], [0.0, 0.0, 0.2, 0.5]])  # positive definite


def log_synthetic(p: Params) -> float:
    """A rotated quadratic in log10 space with a ripple of one decade's period; zero at target."""
    z = np.log10([float(p[k]) for k in _LOG_BOUNDS]) - _LOG_TARGET
    return float(z @ _LOG_MATRIX @ z + 0.2 * np.sum(1 - np.cos(2 * np.pi * z)))


# --- 7-9. Small ML models on scikit-learn's bundled data sets --------------------------

@functools.cache
def _dataset(name: str) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Features, target and fixed CV splits (loaded once per process)."""
    from sklearn import datasets
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    if name == "diabetes":
        x, y = datasets.load_diabetes(return_X_y=True)
        y = (y - y.mean()) / y.std()  # so MSE is about 1 - R^2 and epsilon is unit-free
        folds = KFold(5, shuffle=True, random_state=0).split(x)
    elif name == "breast_cancer":
        x, y = datasets.load_breast_cancer(return_X_y=True)
        folds = StratifiedKFold(5, shuffle=True, random_state=0).split(x, y)
    elif name == "breast_cancer3":
        x, y = datasets.load_breast_cancer(return_X_y=True)
        folds = StratifiedKFold(3, shuffle=True, random_state=0).split(x, y)
    elif name == "iris":
        x, y = datasets.load_iris(return_X_y=True)
        folds = StratifiedKFold(3, shuffle=True, random_state=0).split(x, y)
    else:
        raise KeyError(name)
    return StandardScaler().fit_transform(x), y, list(folds)


def _cv(model: Any, dataset: str, loss: Callable[[np.ndarray, np.ndarray], float],
        proba: bool = False, score: bool = False) -> float:
    x, y, folds = _dataset(dataset)
    losses = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train, test in folds:
            model.fit(x[train], y[train])
            predict = (model.predict_proba if proba else
                       model.decision_function if score else model.predict)
            losses.append(loss(y[test], predict(x[test])))
    value = float(np.mean(losses))
    return value if math.isfinite(value) else math.inf


def _mse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean((y - pred) ** 2))


def _error_rate(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(y != pred))


def _log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Cross-entropy; a diverged model (NaN output) counts as a uniform guess."""
    proba = np.nan_to_num(proba, nan=1.0 / proba.shape[1])
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-6, 1.0))))


@_memoized
def svr(p: Params) -> float:
    from sklearn.svm import SVR

    model = SVR(C=float(p["C"]), gamma=float(p["gamma"]), epsilon=float(p["epsilon"]))
    return _cv(model, "diabetes", _mse)


@_memoized
def decision_tree(p: Params) -> float:
    from sklearn.tree import DecisionTreeClassifier

    model = DecisionTreeClassifier(
        max_depth=int(p["max_depth"]), min_samples_split=int(p["min_samples_split"]),
        min_samples_leaf=int(p["min_samples_leaf"]), criterion=str(p["criterion"]),
        ccp_alpha=float(p["ccp_alpha"]), random_state=0)
    return _cv(model, "breast_cancer", _error_rate)


@_memoized
def mlp(p: Params) -> float:
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=(int(p["hidden"]),), activation=str(p["activation"]),
        solver="sgd", learning_rate_init=float(p["learning_rate_init"]),
        alpha=float(p["alpha"]), momentum=float(p["momentum"]),
        batch_size=32, max_iter=20, random_state=0)
    return _cv(model, "iris", _log_loss, proba=True)


# --- 10. Tabular: a precomputed random-forest grid (build_rf_table.py) -----------------

RF_TABLE = DATA / "rf_table.csv"
RF_PARAMETERS = {
    "n_estimators": {"type": "discrete", "values": [4, 8, 16, 32]},
    "max_depth": {"type": "discrete", "values": [1, 2, 3, 4, 6, 8, 12, 16]},
    "max_features": {"type": "discrete", "values": [0.05, 0.1, 0.25, 0.5, 1.0]},
    "min_samples_leaf": {"type": "discrete", "values": [1, 2, 4, 8, 16, 32]},
    "criterion": {"type": "categorical", "values": ["gini", "entropy"]},
    "bootstrap": {"type": "categorical", "values": ["true", "false"]},
}


def rf_key(p: Params) -> tuple[Any, ...]:
    """Canonical table key: numbers as floats (4 == 4.0), strings as they are."""
    return tuple(str(p[k]) if RF_PARAMETERS[k]["type"] == "categorical" else float(p[k])
                 for k in RF_PARAMETERS)


@functools.cache
def rf_table() -> dict[tuple[Any, ...], float]:
    with open(RF_TABLE, newline="") as f:
        return {rf_key(row): float(row["loss"]) for row in csv.DictReader(f)}


def rf_lookup(p: Params) -> float:
    return rf_table()[rf_key(p)]


# --- 11-24. The grown suite (issue 12): more of every kind, cheap to evaluate -----------

def goldstein_price(p: Params) -> float:
    """2-D, smooth but heavy-tailed (values span 3 to 10^6): a test of the score transform."""
    x, y = float(p["x"]), float(p["y"])
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547],
                         [381, 5743, 8828]])


def hartmann3(p: Params) -> float:
    x = np.array([float(p[f"x{i}"]) for i in range(3)])
    return float(-_H_ALPHA @ np.exp(-np.sum(_H3_A * (x - _H3_P) ** 2, axis=1)))


def _vector(p: Params, dimension: int) -> np.ndarray:
    return np.array([float(p[f"x{i}"]) for i in range(dimension)])


def rosenbrock4(p: Params) -> float:
    x = _vector(p, 4)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


_SHIFT = np.array([1.3, -2.1, 0.7, 2.9, -0.4, 1.8, -3.2, 0.2, 2.4, -1.1])  # off-centre optima


def ackley10(p: Params) -> float:
    """Ackley in 10-D on [-10, 10], optimum moved off the centre to _SHIFT."""
    z = _vector(p, 10) - _SHIFT
    return float(-20 * math.exp(-0.2 * math.sqrt(np.mean(z**2)))
                 - math.exp(np.mean(np.cos(2 * math.pi * z))) + 20 + math.e)


def levy8(p: Params) -> float:
    """Levy in 8-D on [-10, 10], optimum moved from 1 to 1 + _SHIFT."""
    w = 1 + (_vector(p, 8) - 1 - _SHIFT[:8]) / 4
    return float(math.sin(math.pi * w[0]) ** 2
                 + np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
                 + (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2))


_ST_MIN = -39.16616570377142  # Styblinski-Tang's minimum per dimension


def styblinski8(p: Params) -> float:
    """Separable, 2 local minima per coordinate (2^8 in all), one global."""
    x = _vector(p, 8)
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


def ellipsoid8(p: Params) -> float:
    """Separable ill-conditioned quadratic (condition 10^4), optimum at _SHIFT / 2."""
    z = _vector(p, 8) - _SHIFT[:8] / 2
    return float(np.sum(10 ** (4 * np.arange(8) / 7) * z**2))


MIXED_INT_PARAMETERS = {
    **{f"n{i}": _integer(0, 30) for i in range(4)},
    **{f"x{i}": _double(-3.0, 3.0) for i in range(4)},
}
_MI_TARGET = np.array([7, 22, 13, 3, 1.2, -0.8, 2.1, -1.9])
_MI_SCALE = np.array([6.0, 6.0, 6.0, 6.0, 1.0, 1.0, 1.0, 1.0])
_MI_ROTATION = np.linalg.qr(np.random.default_rng(12).normal(size=(8, 8)))[0]


def mixed_int8(p: Params) -> float:
    """4 integers (0-30) and 4 doubles in one rotated quadratic with a cosine ripple."""
    v = np.array([float(p[k]) for k in MIXED_INT_PARAMETERS])
    z = _MI_ROTATION @ ((v - _MI_TARGET) / _MI_SCALE)
    return float(np.sum(np.arange(1, 9) * z**2) + 0.5 * np.sum(1 - np.cos(math.pi * z)))


NN_PARAMETERS = {
    "optimizer": {"type": "categorical", "values": ["sgd", "momentum", "adam", "rmsprop",
                                                    "adagrad"]},
    "activation": {"type": "categorical", "values": ["relu", "tanh", "gelu", "sigmoid"]},
    "init": {"type": "categorical", "values": ["xavier", "he", "normal"]},
    "norm": {"type": "categorical", "values": ["none", "batch", "layer"]},
    "batch_size": {"type": "discrete", "values": [16, 32, 64, 128, 256]},
    "lr": _double(1e-5, 1.0, "loguniform"),
    "weight_decay": _double(1e-7, 1e-2, "loguniform"),
    "dropout": _double(0.0, 0.7),
}
_NN_BEST_LR = {"sgd": -1.0, "momentum": -1.7, "adam": -3.2, "rmsprop": -3.4, "adagrad": -1.6}
_NN_OPT = {"sgd": 0.35, "momentum": 0.12, "adam": 0.0, "rmsprop": 0.08, "adagrad": 0.3}
_NN_ACT = {"relu": 0.05, "tanh": 0.15, "gelu": 0.0, "sigmoid": 0.5}
_NN_INIT = {("relu", "he"): 0.0, ("gelu", "he"): 0.0, ("tanh", "xavier"): 0.0,
            ("sigmoid", "xavier"): 0.0}
_NN_NORM = {"none": 0.25, "batch": 0.0, "layer": 0.05}


def nn_surrogate(p: Params) -> float:
    """A made-up, deterministic model of a network's validation loss over 8 knobs, 4 of
    them categorical: each categorical shifts the best learning rate or adds a cost, and
    the costs interact (the init must suit the activation; sigmoid needs a norm layer)."""
    opt, act, norm = p["optimizer"], p["activation"], p["norm"]
    batch = float(p["batch_size"])
    best_lr = _NN_BEST_LR[opt] + 0.5 * math.log10(batch / 64) + (0.3 if norm != "none" else 0)
    lr_term = 0.15 * (math.log10(float(p["lr"])) - best_lr) ** 2
    diverged = max(0.0, math.log10(float(p["lr"])) - best_lr - 1.0) * 0.8
    wd_term = 0.02 * (math.log10(float(p["weight_decay"])) + 4.5 - (1 if opt == "adam" else 0)) ** 2
    dropout_term = 0.6 * (float(p["dropout"]) - 0.2 - (0.15 if norm == "batch" else 0)) ** 2
    init_term = _NN_INIT.get((act, p["init"]), 0.12 if p["init"] != "normal" else 0.3)
    act_term = _NN_ACT[act] * (2.0 if norm == "none" else 1.0)
    batch_term = 0.03 * abs(math.log2(batch / 64))
    return (0.2 + lr_term + diverged + wd_term + dropout_term + init_term + act_term
            + _NN_OPT[opt] + _NN_NORM[norm] + batch_term)


def _noise(p: Params, sigma: float) -> float:
    """Deterministic noise: a normal draw seeded by the parameter values themselves, so a
    repeated parameter set gives the same loss (and the random-search pool is exact)."""
    import hashlib

    key = repr(sorted((k, round(float(v), 12)) for k, v in p.items())).encode()
    seed = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return sigma * float(np.random.default_rng(seed).standard_normal())


def noisy_hartmann6(p: Params) -> float:
    return hartmann6(p) + _noise(p, 0.1)


def six_hump_camel(p: Params) -> float:
    x, y = float(p["x"]), float(p["y"])
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def noisy_camel(p: Params) -> float:
    return six_hump_camel(p) + _noise(p, 0.2)


def lr_wd(p: Params) -> float:
    """A learning-rate-style landscape: loss of a model trained with lr, weight decay and
    momentum; valley along lr * (1 - momentum) ~ const, a cliff where lr is too high, and
    a plateau where weight decay is too strong."""
    log_lr, log_wd = math.log10(float(p["lr"])), math.log10(float(p["weight_decay"]))
    momentum = float(p["momentum"])
    effective = log_lr - math.log10(1 - momentum + 1e-3)
    under = max(0.0, -2.0 - effective) ** 1.5 * 0.3
    over = 4.0 / (1 + math.exp(-6 * (effective + 0.5)))
    decay = 1.5 / (1 + math.exp(-3 * (log_wd + 2.5))) + 0.05 * (log_wd + 5) ** 2
    warm = 0.1 * (float(p["warmup"]) - 0.1) ** 2 / 0.01
    return under + over + decay + warm + 0.2 * math.sin(3 * log_lr) ** 2


@_memoized
def sgd_cancer(p: Params) -> float:
    """Linear model by SGD on breast cancer: 4 categorical choices and 3 numbers; 1 - AUC."""
    from sklearn.linear_model import SGDClassifier

    model = SGDClassifier(
        loss=str(p["loss"]), penalty=str(p["penalty"]), alpha=float(p["alpha"]),
        l1_ratio=float(p["l1_ratio"]), learning_rate=str(p["learning_rate"]),
        eta0=float(p["eta0"]), class_weight=None if p["class_weight"] == "none" else "balanced",
        max_iter=10, tol=None, random_state=0)
    return _cv(model, "breast_cancer3", _auc_loss, score=True)


def _auc_loss(y: np.ndarray, decision: np.ndarray) -> float:
    """1 - ROC AUC; a diverged model (non-finite scores) ranks nothing: 0.5."""
    from sklearn.metrics import roc_auc_score

    if not np.all(np.isfinite(decision)):
        return 0.5
    return 1.0 - float(roc_auc_score(y, decision))


# --- The list -------------------------------------------------------------------------

def _box(dimension: int, lo: float, hi: float) -> dict[str, dict[str, Any]]:
    return {f"x{i}": _double(lo, hi) for i in range(dimension)}


PROBLEMS: dict[str, Problem] = {p.name: p for p in [
    Problem("branin", "Branin, 2-D", {"x1": _double(-5.0, 10.0), "x2": _double(0.0, 15.0)},
            branin, 0.397887357729738, grid=True),
    Problem("hartmann6", "Hartmann, 6-D on [0,1]^6", _box(6, 0.0, 1.0),
            hartmann6, -3.32236801141551),
    Problem("bbob_f21_5d", "BBOB f21 Gallagher 101 peaks, 5-D, instance 1",
            _box(5, -5.0, 5.0), _bbob_objective(21, 5), lambda: _bbob_optimum(21, 5)),
    Problem("bbob_f15_4d", "BBOB f15 Rastrigin (rotated), 4-D, instance 1",
            _box(4, -5.0, 5.0), _bbob_objective(15, 4), lambda: _bbob_optimum(15, 4)),
    Problem("mixed7", "7 parameters of every type and scaling, with interactions",
            MIXED_PARAMETERS, mixed, 0.0),
    Problem("log4", "4 loguniform doubles spanning 4-6 decades; rippled quadratic in log space",
            {k: _double(lo, hi, "loguniform") for k, (lo, hi) in _LOG_BOUNDS.items()},
            log_synthetic, 0.0),
    Problem("svr_diabetes", "SVR on diabetes: C, gamma, epsilon (loguniform); 5-fold CV MSE",
            {"C": _double(1e-2, 1e2, "loguniform"), "gamma": _double(1e-4, 1.0, "loguniform"),
             "epsilon": _double(1e-3, 1.0, "loguniform")},
            svr, None, pool_size=2000, slow=True),
    Problem("tree_cancer", "Decision tree on breast cancer; 5-fold CV error rate",
            {"max_depth": _integer(1, 20), "min_samples_split": _integer(2, 40),
             "min_samples_leaf": _integer(1, 20),
             "criterion": {"type": "categorical", "values": ["gini", "entropy"]},
             "ccp_alpha": _double(0.0, 0.05)},
            decision_tree, None, pool_size=2000, slow=True),
    Problem("mlp_iris", "MLP (sgd, 20 epochs) on iris; 3-fold CV log loss",
            {"hidden": _integer(2, 64), "learning_rate_init": _double(1e-4, 1.0, "loguniform"),
             "alpha": _double(1e-6, 1e-1, "loguniform"), "momentum": _double(0.0, 0.99),
             "activation": {"type": "categorical", "values": ["relu", "tanh", "logistic"]}},
            mlp, None, pool_size=2000, slow=True),
    Problem("rf_table", "Random forest on digits: a 3,840-cell table of 3-fold CV error",
            RF_PARAMETERS, rf_lookup, lambda: min(rf_table().values()), grid=True),
    Problem("goldstein_price", "Goldstein-Price, 2-D on [-2,2]^2 (values span 3 to 1e6)",
            {"x": _double(-2.0, 2.0), "y": _double(-2.0, 2.0)}, goldstein_price, 3.0),
    Problem("hartmann3", "Hartmann, 3-D on [0,1]^3", _box(3, 0.0, 1.0),
            hartmann3, -3.86278214782076),
    Problem("rosenbrock4", "Rosenbrock, 4-D on [-2,2]^4", _box(4, -2.0, 2.0), rosenbrock4, 0.0),
    Problem("ackley10", "Ackley, 10-D on [-10,10]^10, optimum off-centre", _box(10, -10.0, 10.0),
            ackley10, 0.0),
    Problem("levy8", "Levy, 8-D on [-10,10]^8, optimum off-centre", _box(8, -10.0, 10.0),
            levy8, 0.0),
    Problem("bbob_f22_10d", "BBOB f22 Gallagher 21 peaks, 10-D, instance 1",
            _box(10, -5.0, 5.0), _bbob_objective(22, 10), lambda: _bbob_optimum(22, 10)),
    Problem("styblinski8", "Styblinski-Tang, 8-D on [-5,5]^8 (separable, 2^8 local minima)",
            _box(8, -5.0, 5.0), styblinski8, 8 * _ST_MIN),
    Problem("ellipsoid8", "separable ellipsoid, 8-D on [-5,5]^8, condition 1e4",
            _box(8, -5.0, 5.0), ellipsoid8, 0.0),
    Problem("mixed_int8", "4 integers (0-30) + 4 doubles, rotated quadratic with a ripple",
            MIXED_INT_PARAMETERS, mixed_int8, 0.0),
    Problem("nn_surrogate", "8 network knobs (4 categorical, 1 discrete, 3 numbers), "
            "a made-up interacting loss", NN_PARAMETERS, nn_surrogate, 0.2),
    Problem("sgd_cancer", "SGD linear model on breast cancer: 4 categorical + 3 numbers; "
            "3-fold CV 1 - AUC",
            {"loss": {"type": "categorical", "values": ["hinge", "log_loss", "modified_huber",
                                                        "squared_hinge", "perceptron"]},
             "penalty": {"type": "categorical", "values": ["l2", "l1", "elasticnet"]},
             "learning_rate": {"type": "categorical",
                               "values": ["constant", "optimal", "invscaling", "adaptive"]},
             "class_weight": {"type": "categorical", "values": ["none", "balanced"]},
             "alpha": _double(1e-6, 10.0, "loguniform"), "l1_ratio": _double(0.0, 1.0),
             "eta0": _double(1e-5, 10.0, "loguniform")},
            sgd_cancer, None, pool_size=2000, slow=True),
    Problem("noisy_hartmann6", "Hartmann 6-D plus N(0, 0.1) noise (a hash of the parameters)",
            _box(6, 0.0, 1.0), noisy_hartmann6, None),
    Problem("noisy_camel", "six-hump camel on [-3,3]x[-2,2] plus N(0, 0.2) noise",
            {"x": _double(-3.0, 3.0), "y": _double(-2.0, 2.0)}, noisy_camel, None),
    Problem("lr_wd", "learning rate, weight decay (loguniform), momentum, warmup share: "
            "a valley in lr / (1 - momentum), a cliff, a plateau",
            {"lr": _double(1e-6, 1.0, "loguniform"),
             "weight_decay": _double(1e-8, 1e-1, "loguniform"),
             "momentum": _double(0.0, 0.99), "warmup": _double(0.0, 0.5)}, lr_wd, None),
]}

# The split against overfitting (issue 12): every design choice of `bayes` is tuned on
# TUNING and kept only if it does not hurt CONFIRMING. Fixed here, balanced by kind.
TUNING = ["branin", "goldstein_price", "rosenbrock4", "bbob_f21_5d", "levy8", "styblinski8",
          "mixed7", "tree_cancer", "rf_table", "nn_surrogate", "noisy_hartmann6", "log4"]
CONFIRMING = ["hartmann6", "hartmann3", "bbob_f15_4d", "ackley10", "bbob_f22_10d",
              "ellipsoid8", "mixed_int8", "mlp_iris", "sgd_cancer", "noisy_camel",
              "svr_diabetes", "lr_wd"]
HALVES = {"tuning": TUNING, "confirming": CONFIRMING}


def known_optimum(problem: Problem) -> float | None:
    """The true optimum where it is known (closed form, COCO, or the whole table)."""
    return problem.optimum() if callable(problem.optimum) else problem.optimum
