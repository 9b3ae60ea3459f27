"""Load and validate an optimizer configuration.

A configuration arrives as a dict, a file (JSON, Python-literal or YAML, read by
`config_file`) or is read back from the store. Whatever its origin it goes through
`validate`, which either returns a frozen `OptimizerConfig` with every default
filled in, or raises `InvalidOptimizerParameters` with one sentence naming the key
and the value at fault. Validation is identical for every algorithm and happens before
anything is written anywhere.
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any

from comet_optimize import jsontext
from comet_optimize.config_file import MAX_DEPTH, MAX_FILE_BYTES, read_config_file
from comet_optimize.echo import ECHO, show
from comet_optimize.encoding import MAX_NAME_CHARACTERS
from comet_optimize.errors import InvalidOptimizerParameters

ALGORITHMS = ("grid", "random", "bayes")
SCALING_TYPES = ("linear", "uniform", "normal", "lognormal", "loguniform")
OBJECTIVES = ("minimize", "maximize")
METRIC_REDUCTIONS = ("best", "last", "mean")
TOP_LEVEL_KEYS = ("algorithm", "spec", "parameters", "name", "trials", "verbose")
NUMERIC_KEYS = ("type", "min", "max", "scalingType", "mu", "sigma", "gridSize")
VALUES_KEYS = ("type", "values", "gridSize")
TYPE_ALIASES = {"integer": "integer", "double": "double", "float": "double",
                "discrete": "discrete", "categorical": "categorical"}

SPEC_DEFAULTS: dict[str, Any] = {
    "maxCombo": 0,
    "objective": "minimize",
    "metric": "loss",
    "gridSize": 10,
    "minSampleSize": 100,
    "retryLimit": 20,
    "retryAssignLimit": 0,
    "randomize": False,
    "metricReduction": "best",
    "seed": None,
}


@dataclass(frozen=True)
class ParameterConfig:
    """One parameter as the user declared it, normalised (shorthand expanded)."""

    name: str
    type: str  # integer | double | discrete | categorical
    scaling: str = "uniform"
    min: float | None = None
    max: float | None = None
    mu: float | None = None
    sigma: float | None = None
    values: tuple = ()
    grid_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.type in ("discrete", "categorical"):
            out: dict[str, Any] = {"type": self.type, "values": list(self.values)}
        else:
            out = {"type": self.type, "scalingType": self.scaling}
            for key in ("min", "max", "mu", "sigma"):
                value = getattr(self, key)
                if value is not None:
                    out[key] = value
        if self.grid_size is not None:
            out["gridSize"] = self.grid_size
        return out


@dataclass(frozen=True)
class SpecConfig:
    max_combo: int = 0
    objective: str = "minimize"
    metric: str = "loss"
    grid_size: int = 10
    min_sample_size: int = 100
    retry_limit: int = 20
    retry_assign_limit: int = 0
    randomize: bool = False
    metric_reduction: str = "best"
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "maxCombo": self.max_combo,
            "objective": self.objective,
            "metric": self.metric,
            "gridSize": self.grid_size,
            "minSampleSize": self.min_sample_size,
            "retryLimit": self.retry_limit,
            "retryAssignLimit": self.retry_assign_limit,
            "randomize": self.randomize,
            "metricReduction": self.metric_reduction,
            "seed": self.seed,
        }
        return out


@dataclass(frozen=True)
class OptimizerConfig:
    algorithm: str
    spec: SpecConfig
    parameters: tuple[ParameterConfig, ...]
    name: str | None = None
    trials: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The canonical form that is stored: every default filled in."""
        return {
            "algorithm": self.algorithm,
            "spec": self.spec.to_dict(),
            "parameters": {p.name: p.to_dict() for p in self.parameters},
            "name": self.name,
            "trials": self.trials,
        }


MAX_GRID_SIZE = 10_000  # np.quantile at n points grows as n**2: 0.3 s at 10k, 8 s at 100k
MAX_MIN_SAMPLE_SIZE = 1_000_000  # 0.1-0.2 s an axis
MAX_GRID_SAMPLES = 10_000_000  # over all of a grid's numeric axes: a second or two
MAX_RETRY_LIMIT = 10_000
MAX_COUNT = 2**63 - 1  # counts (maxCombo, trials, retries, grid points) fit a signed 64 bits
# Every integer a parameter can take, and every integer it can draw, fits a
# signed 64-bit integer (numpy's draws, other stores' columns).
MIN_INTEGER, MAX_INTEGER = -2**63, 2**63 - 1
# A normal draw stays within this many sigmas of mu: the space keeps unit
# draws 1e-12 away from 0 and 1, and the normal quantile of 1e-12 is -7.03.
NORMAL_TAIL = 7.1
_LIMIT_NAMES = {MAX_COUNT: "2**63 - 1"}


def _fail(message: str) -> InvalidOptimizerParameters:
    return InvalidOptimizerParameters(message)


def _plain_config(value: Any, depth: int = 0) -> Any:
    """A config built in Python as a config file would have it: numpy numbers and
    arrays (bounds computed with numpy) become numbers and lists, tuples lists."""
    if depth > MAX_DEPTH:
        raise _fail(f"the config is nested more than {MAX_DEPTH} levels deep (a config needs "
                    f"about 5)")
    if isinstance(value, dict):
        return {key: _plain_config(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_config(item, depth + 1) for item in value]
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return _plain_config(value.tolist(), depth + 1)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _label(name: Any) -> str:
    """A key as part of a dotted path: bare when short and plain, else quoted and cut."""
    if isinstance(name, str) and 0 < len(name) <= ECHO and name.isprintable():
        return name
    return show(name)




def _int_field(where: str, value: Any, minimum: int, maximum: int = MAX_COUNT) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(f"{where}: must be an integer >= {minimum} (got {show(value)})")
    if value > maximum:
        raise _fail(f"{where}: must be at most {_LIMIT_NAMES.get(maximum, maximum)} "
                    f"(got {show(value)})")
    return value


def validate(raw: Any, source: str | None = None) -> OptimizerConfig:
    """Check a raw config and fill its defaults; raise one clear message if wrong.

    ``source`` (a file name) prefixes every message so the user knows which
    file to open.
    """
    try:
        config = _validate(raw)
        size = len(jsontext.standard(config.to_dict()))
        if size > MAX_FILE_BYTES:  # a dict built in Python: it is stored and read as a file
            raise _fail(f"the config is {size // 1024} KiB, too large (the limit is "
                        f"{MAX_FILE_BYTES // 1024} KiB, as for a config file)")
        return config
    except InvalidOptimizerParameters as error:
        if source:
            raise InvalidOptimizerParameters(f"{source}: {error}") from None
        raise


def _validate(raw: Any) -> OptimizerConfig:
    if not isinstance(raw, dict):
        raise _fail(f"the config must be a dict (got {type(raw).__name__})")
    raw = _plain_config(raw)
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise _fail(f"unknown top-level key {show(key)}{_did_you_mean(key, TOP_LEVEL_KEYS)} "
                        f"(allowed: {', '.join(TOP_LEVEL_KEYS)})")
    algorithm = raw.get("algorithm")
    if algorithm is None:
        raise _fail('algorithm: missing (choose grid, random or bayes)')
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        raise _fail(f"unknown algorithm {show(algorithm)} (choose grid, random or bayes)")
    spec = _validate_spec(raw.get("spec", {}))
    parameters = _validate_parameters(raw.get("parameters"))
    if algorithm == "grid":
        _check_grid_points(spec, parameters)
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise _fail(f"name: must be a string (got {show(name)})")
    trials = validate_trials(raw.get("trials", 1))
    verbose = raw.get("verbose", 1)
    if not _is_number(verbose) and not isinstance(verbose, bool):
        raise _fail(f"verbose: must be a number (got {show(verbose)})")
    return OptimizerConfig(algorithm, spec, parameters, name, trials)


def _did_you_mean(key: Any, allowed: tuple[str, ...]) -> str:
    """``; did you mean "scalingType"?`` for a key that is one of ``allowed`` written
    another way (``scaling_type``, ``maxcombo``) or misspelled, else ""."""
    if not isinstance(key, str) or len(key) > 100:
        return ""

    def plain(text: str) -> str:
        return text.lower().replace("_", "").replace("-", "")

    same = [name for name in allowed if plain(name) == plain(key)]
    if not same:
        import difflib

        same = difflib.get_close_matches(plain(key), [plain(name) for name in allowed], 1, 0.8)
        same = [name for name in allowed if same and plain(name) == same[0]]
    return f'; did you mean "{same[0]}"?' if same else ""


def validate_trials(trials: Any, where: str = "trials") -> int:
    return _int_field(where, trials, 1)


def _one_of(where: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        choices = " or ".join(f'"{choice}"' for choice in allowed)
        if len(allowed) > 2:
            choices = ", ".join(f'"{choice}"' for choice in allowed[:-1]) + f' or "{allowed[-1]}"'
        raise _fail(f"{where}: must be {choices} (got {show(value)})")
    return value


def _validate_spec(spec: Any) -> SpecConfig:
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise _fail(f"spec: must be a dict (got {show(spec)})")
    values = dict(SPEC_DEFAULTS)
    for key, value in spec.items():
        if key in SPEC_DEFAULTS:
            values[key] = value
        else:
            where = (f"; {key!r} is a top-level key of the config, beside 'spec'"
                     if key in TOP_LEVEL_KEYS else _did_you_mean(key, tuple(SPEC_DEFAULTS)))
            warnings.warn(f"spec.{_label(key)}: unknown key, ignored{where}", stacklevel=4)
    objective = _one_of("spec.objective", values["objective"], OBJECTIVES)
    metric = values["metric"]
    if not isinstance(metric, str) or not metric:
        hint = ""
        if isinstance(metric, dict) and isinstance(metric.get("name"), str):
            # W&B's sweep form, {"name": ..., "goal": ...}, written into a Comet config
            goal = metric.get("goal")
            hint = (f"; that is W&B's form: a Comet config says \"metric\": "
                    f"{json.dumps(metric['name'])}"
                    + (f", \"objective\": {json.dumps(goal)}" if goal in OBJECTIVES else ""))
        raise _fail(f"spec.metric: must be a non-empty string (got {show(metric)}){hint}")
    if len(metric) > MAX_NAME_CHARACTERS:  # no experiment could log it: every one aborted
        raise _fail(f"spec.metric: {len(metric)} characters long, over the "
                    f"{MAX_NAME_CHARACTERS} a metric name may have")
    reduction = _one_of("spec.metricReduction", values["metricReduction"], METRIC_REDUCTIONS)
    if not isinstance(values["randomize"], bool):
        raise _fail(f"spec.randomize: must be true or false (got {show(values['randomize'])})")
    seed = values["seed"]
    if seed is not None:
        _int_field("spec.seed", seed, 0)
    return SpecConfig(
        max_combo=_int_field("spec.maxCombo", values["maxCombo"], 0),
        objective=objective,
        metric=metric,
        grid_size=_int_field("spec.gridSize", values["gridSize"], 1, MAX_GRID_SIZE),
        min_sample_size=_int_field("spec.minSampleSize", values["minSampleSize"], 1,
                                   MAX_MIN_SAMPLE_SIZE),
        retry_limit=_int_field("spec.retryLimit", values["retryLimit"], 0, MAX_RETRY_LIMIT),
        retry_assign_limit=_int_field("spec.retryAssignLimit", values["retryAssignLimit"], 0),
        randomize=values["randomize"],
        metric_reduction=reduction,
        seed=seed,
    )


def _check_grid_points(spec: SpecConfig, parameters: tuple[ParameterConfig, ...]) -> None:
    """A grid's positions are counted in 64 bits (its shuffle too): refuse a larger one.

    Each axis is counted at its largest: its values, or its gridSize (no more
    than the integers in its range). Each numeric axis is estimated from
    max(gridSize, minSampleSize) draws in every process: their sum is bounded.
    """
    points = samples = 1
    for parameter in parameters:
        if parameter.values:
            points *= len(parameter.values)
            continue
        size = parameter.grid_size or spec.grid_size
        samples += max(size, spec.min_sample_size)
        if parameter.type == "integer" and parameter.min is not None \
                and parameter.max is not None:
            size = min(size, parameter.max - parameter.min + 1)
        points *= size
    if points > MAX_COUNT:
        raise _fail("the grid has more than 2**63 - 1 points (the product of each "
                    "parameter's values or gridSize); lower gridSize, or use random or bayes")
    if samples - 1 > MAX_GRID_SAMPLES:
        raise _fail(f"the grid's ranges would be estimated from {samples - 1} samples, more "
                    f"than {MAX_GRID_SAMPLES} (lower spec.minSampleSize or gridSize)")


def _validate_parameters(parameters: Any) -> tuple[ParameterConfig, ...]:
    if parameters is None:
        raise _fail("parameters: missing (declare at least one parameter)")
    if not isinstance(parameters, dict):
        raise _fail(f"parameters: must be a dict of name -> definition (got {show(parameters)})")
    if not parameters:
        raise _fail("parameters: empty (declare at least one parameter)")
    out = []
    for name, definition in parameters.items():
        if not isinstance(name, str) or not name:
            raise _fail(f"parameters: names must be non-empty strings (got {show(name)})")
        out.append(_validate_parameter(name, definition))
    return tuple(out)


def _validate_parameter(name: str, definition: Any) -> ParameterConfig:
    where = f"parameters.{_label(name)}"
    if isinstance(definition, (list, tuple)):
        return _shorthand(where, name, list(definition))
    if _is_number(definition) or isinstance(definition, str):
        return _shorthand(where, name, [definition])
    if not isinstance(definition, dict):
        raise _fail(f"{where}: must be a dict with a 'type', a list of values or a value "
                    f"(got {show(definition)})")
    if "type" not in definition:
        raise _fail(f"{where}: missing 'type' (integer, double, float, discrete or categorical)")
    kind = TYPE_ALIASES.get(definition["type"]) if isinstance(definition["type"], str) else None
    if kind is None:
        raise _fail(f"{where}.type: unknown type {show(definition['type'])} "
                    f"(choose integer, double, float, discrete or categorical)")
    allowed = VALUES_KEYS if kind in ("discrete", "categorical") else NUMERIC_KEYS
    for key in definition:
        if key not in allowed:
            hint = _did_you_mean(key, allowed)
            if hint == '; did you mean "scalingType"?' and definition[key] == "uniform":
                # Public Comet scripts write "scaling_type": "uniform" and Comet runs them;
                # ignoring the key or reading it as scalingType is the same search.
                warnings.warn(f"{where}: unknown key {show(key)} ignored (its value, "
                              f'"uniform", is the default scalingType)', stacklevel=5)
                continue
            raise _fail(f"{where}: unknown key {show(key)} for a {kind} parameter"
                        f"{hint} (allowed: {', '.join(allowed)})")
    grid_size = definition.get("gridSize")
    if grid_size is not None:
        _int_field(f"{where}.gridSize", grid_size, 1, MAX_GRID_SIZE)
    if kind in ("discrete", "categorical"):
        values = _validate_values(where, kind, definition.get("values"))
        return ParameterConfig(name, kind, values=values, grid_size=grid_size)
    return _validate_numeric(where, name, kind, definition, grid_size)


def _shorthand(where: str, name: str, values: list) -> ParameterConfig:
    if not values:
        raise _fail(f"{where}: empty list of values")
    kind = "categorical" if isinstance(values[0], str) else "discrete"
    return ParameterConfig(name, kind, values=_validate_values(where, kind, values))


def _validate_values(where: str, kind: str, values: Any) -> tuple:
    if values is None:
        raise _fail(f"{where}.values: missing (a {kind} parameter needs a list of values)")
    if not isinstance(values, (list, tuple)):
        raise _fail(f"{where}.values: must be a list (got {show(values)})")
    if not values:
        raise _fail(f"{where}.values: empty list")
    strings = [isinstance(v, str) for v in values]
    numbers = [_is_number(v) for v in values]
    if any(strings) and any(numbers):
        raise _fail(f"{where}.values: mixed types (numbers and strings) in {show(values)}")
    if kind == "discrete" and all(isinstance(v, bool) for v in values):
        # Comet hands such a list back as it is: scripts write
        # {"type": "discrete", "values": [True, False]} and use the value as a flag.
        if len(set(values)) < len(values):
            raise _fail(f"{where}.values: duplicate value {show(values[-1])}")
        return tuple(values)
    for value in values:
        if kind == "categorical" and not isinstance(value, str):
            raise _fail(f"{where}.values: categorical values must be strings "
                        f"(got {show(value)}); use discrete for numbers or booleans")
        if kind == "discrete":
            if isinstance(value, bool):
                raise _fail(f"{where}.values: discrete values are all numbers or all "
                            f"booleans, not both (got {show(values)})")
            if isinstance(value, str):
                raise _fail(f"{where}.values: discrete values must be numbers "
                            f"(got {show(value)}); use categorical for strings")
            if not _is_number(value):
                raise _fail(f"{where}.values: discrete values must be numbers (got {show(value)})")
            if isinstance(value, float) and not math.isfinite(value):
                raise _fail(f"{where}.values: values must be finite (got {value})")
            if isinstance(value, int) and not MIN_INTEGER <= value <= MAX_INTEGER:
                raise _fail(f"{where}.values: integers must be between -2**63 and 2**63 - 1 "
                            f"(got {show(value)})")
    seen = set()
    for value in values:
        if value in seen:
            raise _fail(f"{where}.values: duplicate value {show(value)}")
        seen.add(value)
    return tuple(values)


def _number(where: str, value: Any) -> int | float:
    """A number that is also a finite float (an int of 400 digits is not)."""
    if not _is_number(value):
        raise _fail(f"{where}: must be a number (got {show(value)})")
    try:
        finite = math.isfinite(float(value))
    except OverflowError:
        raise _fail(f"{where}: beyond the range of a float, about 1.8e308 "
                    f"(got {show(value)})") from None
    if not finite:
        raise _fail(f"{where}: must be finite (got {value})")
    return value


def _integer_bound(where: str, value: Any) -> int:
    if not _is_number(value):
        raise _fail(f"{where}: must be a number (got {show(value)})")
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(f"{where}: must be finite (got {value})")
    if not MIN_INTEGER <= value <= MAX_INTEGER:
        raise _fail(f"{where}: an integer parameter's bounds must be between -2**63 and "
                    f"2**63 - 1 "
                    f"(got {show(value)})")
    if value != int(value):
        raise _fail(f"{where}: an integer parameter needs integer bounds (got {value})")
    return int(value)


def _validate_numeric(where: str, name: str, kind: str, definition: dict,
                      grid_size: int | None) -> ParameterConfig:
    scaling = definition.get("scalingType", "uniform")
    if not isinstance(scaling, str) or scaling not in SCALING_TYPES:
        raise _fail(f"{where}.scalingType: unknown scaling {show(scaling)} "
                    f"(choose {', '.join(SCALING_TYPES)})")
    bounds = {}
    for key in ("min", "max"):
        if definition.get(key) is not None:
            check = _integer_bound if kind == "integer" else _number
            bounds[key] = check(f"{where}.{key}", definition[key])
    low, high = bounds.get("min"), bounds.get("max")
    mu = sigma = None
    if scaling in ("normal", "lognormal"):
        for key in ("mu", "sigma"):
            if definition.get(key) is None:
                raise _fail(f"{where}: {scaling} scaling needs '{key}'")
        mu = _number(f"{where}.mu", definition["mu"])
        sigma = _number(f"{where}.sigma", definition["sigma"])
        if sigma <= 0:
            raise _fail(f"{where}.sigma: must be > 0 (got {show(sigma)})")
    else:
        for key in ("min", "max"):
            if key not in bounds:
                raise _fail(f"{where}: {scaling} scaling needs '{key}'")
        for key in ("mu", "sigma"):
            if definition.get(key) is not None:
                _number(f"{where}.{key}", definition[key])
    if low is not None and high is not None and low > high:
        raise _fail(f"{where}: min > max ({show(low)} > {show(high)})")
    if scaling in ("linear", "uniform") and not math.isfinite(float(high) - float(low)):
        raise _fail(f"{where}: max - min overflows a float ({low} to {high})")
    if scaling == "loguniform" and low <= 0:
        raise _fail(f"{where}: loguniform needs min > 0 (got {low})")
    if scaling == "lognormal" and low is not None and low < 0:
        raise _fail(f"{where}: lognormal values are positive, min must be >= 0 (got {low})")
    if scaling == "lognormal" and high is not None and high <= 0:
        raise _fail(f"{where}: lognormal values are positive, max must be > 0 (got {high})")
    if scaling in ("normal", "lognormal"):
        # An integer k stands for [k - 0.5, k + 0.5] (see space.IntegerDimension).
        pad = 0.5 if kind == "integer" else 0.0
        padded_low = None if low is None else float(low) - pad
        padded_high = None if high is None else float(high) + pad
        _check_truncation_mass(where, scaling, float(mu), float(sigma), padded_low, padded_high)
        _check_draw_range(where, kind, scaling, float(mu), float(sigma), low, high)
    return ParameterConfig(name, kind, scaling, low, high, mu, sigma, grid_size=grid_size)


def _check_truncation_mass(where: str, scaling: str, mu: float, sigma: float,
                           low: float | None, high: float | None) -> None:
    """Truncating a normal far in its tail would make sampling hang or blow up."""
    def z(bound: float | None, default: float) -> float:
        if bound is None:
            return default
        if scaling == "lognormal":
            if bound <= 0:
                return default
            bound = math.log(bound)
        return (bound - mu) / sigma

    z_low, z_high = z(low, -math.inf), z(high, math.inf)
    mass = 0.5 * (math.erfc(-z_high / math.sqrt(2)) - math.erfc(-z_low / math.sqrt(2)))
    if mass < 1e-9:
        raise _fail(f"{where}: min/max leave no probability mass under "
                    f"{scaling}(mu={mu:g}, sigma={sigma:g})")


def _check_draw_range(where: str, kind: str, scaling: str, mu: float, sigma: float,
                      low: int | float | None, high: int | float | None) -> None:
    """Every draw must be a finite number of the parameter's type.

    Draws reach `NORMAL_TAIL` sigmas from mu (in log space for lognormal),
    then are cut to min/max: a sigma of 1e308, or a lognormal mu of 800,
    would hand out infinities; an integer must fit 64 bits. (Integer bounds
    stay exact ints here: float(2**63 - 1) is 2**63.)
    """
    reach = NORMAL_TAIL * sigma
    top, bottom = mu + reach, mu - reach
    if scaling == "lognormal":
        bottom = 0.0
        if high is not None:
            top = min(top, math.log(high))
        try:
            top = math.exp(top)
        except OverflowError:
            top = math.inf
    else:
        if low is not None:
            bottom = max(bottom, low)
        if high is not None:
            top = min(top, high)
    if kind == "integer":
        fits = MIN_INTEGER <= bottom and top <= MAX_INTEGER
    else:
        fits = -sys.float_info.max <= bottom and top <= sys.float_info.max
    if not fits:
        beyond = "beyond 64 bits for an integer" if kind == "integer" else \
            "beyond the range of a float"
        raise _fail(f"{where}: {scaling}(mu={mu:g}, sigma={sigma:g}) draws values {beyond}; "
                    f"use a smaller mu or sigma, or bound it with min/max")


def load(source: Any) -> tuple[OptimizerConfig, dict[str, Any]]:
    """Validate a dict or a config file; return the config and the raw mapping."""
    if isinstance(source, dict):
        return validate(source), source
    raw = read_config_file(source)
    return validate(raw, source=os.fspath(source)), raw
