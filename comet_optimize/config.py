"""Load and validate an optimizer configuration.

A configuration arrives as a dict, a file (JSON, Python-literal or YAML) or is
read back from the store. Whatever its origin it goes through `validate`, which
either returns a frozen `OptimizerConfig` with every default filled in, or
raises `InvalidOptimizerParameters` with one sentence naming the key and the
value at fault. Validation is identical for every algorithm and happens before
anything is written anywhere.
"""

from __future__ import annotations

import ast
import json
import math
import os
import warnings
from dataclasses import dataclass
from typing import Any

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


# ---------------------------------------------------------------- reading files


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a config file written as JSON, a Python literal or YAML (by extension).

    The docs' own examples are Python literals with comments, trailing commas
    and True/False; Comet itself rejected JSON's true/false/null. We accept
    both, and never evaluate code.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise InvalidOptimizerParameters(
            f"{path}: cannot read the config file ({error.strerror})"
        ) from None
    if path.endswith((".yml", ".yaml")):
        data = _parse_yaml(path, text)
    else:
        data = _parse_json_or_literal(path, text)
    if not isinstance(data, dict):
        raise InvalidOptimizerParameters(
            f"{path}: the config must be a mapping with 'algorithm', 'spec' and "
            f"'parameters' (got a {type(data).__name__})"
        )
    return data


def _parse_yaml(path: str, text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InvalidOptimizerParameters(f"{path}: not valid YAML{where}") from None


def _parse_json_or_literal(path: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        tree = ast.parse(text.strip() or "None", mode="eval")
    except SyntaxError as error:
        raise InvalidOptimizerParameters(
            f"{path}: not valid JSON or a Python literal (syntax error at line "
            f"{error.lineno}: {error.msg})"
        ) from None
    return _literal(path, tree.body)


_NAMED_CONSTANTS = {"True": True, "False": False, "None": None,
                    "true": True, "false": False, "null": None}


def _literal(path: str, node: ast.AST) -> Any:
    """A literal_eval that also knows JSON's true/false/null."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMED_CONSTANTS:
        return _NAMED_CONSTANTS[node.id]
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise InvalidOptimizerParameters(f"{path}: '**' is not allowed in a config")
        out = {}
        for key_node, value_node in zip(node.keys, node.values):
            key = _literal(path, key_node)
            if isinstance(key, (list, dict)):
                raise InvalidOptimizerParameters(
                    f"{path}: line {key_node.lineno}: a key must be a string or a number "
                    f"(found {ast.unparse(key_node)!r})"
                )
            out[key] = _literal(path, value_node)
        return out
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(path, item) for item in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _literal(path, node.operand)
        if _is_number(operand):
            return -operand if isinstance(node.op, ast.USub) else operand
    raise InvalidOptimizerParameters(
        f"{path}: line {getattr(node, 'lineno', '?')}: only literals are allowed in a config "
        f"(found {ast.unparse(node)!r})"
    )


# ---------------------------------------------------------------- validation


def _fail(message: str) -> InvalidOptimizerParameters:
    return InvalidOptimizerParameters(message)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _int_field(where: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(f"{where}: must be an integer >= {minimum} (got {_show(value)})")
    if value < minimum:
        raise _fail(f"{where}: must be an integer >= {minimum} (got {value})")
    return value


def validate(raw: Any, source: str | None = None) -> OptimizerConfig:
    """Check a raw config and fill its defaults; raise one clear message if wrong.

    ``source`` (a file name) prefixes every message so the user knows which
    file to open.
    """
    try:
        return _validate(raw)
    except InvalidOptimizerParameters as error:
        if source:
            raise InvalidOptimizerParameters(f"{source}: {error}") from None
        raise


def _validate(raw: Any) -> OptimizerConfig:
    if not isinstance(raw, dict):
        raise _fail(f"the config must be a dict (got {type(raw).__name__})")
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise _fail(
                f"unknown top-level key {_show(key)} (allowed: {', '.join(TOP_LEVEL_KEYS)})"
            )
    algorithm = raw.get("algorithm")
    if algorithm is None:
        raise _fail('algorithm: missing (choose grid, random or bayes)')
    if algorithm not in ALGORITHMS:
        raise _fail(f"unknown algorithm {_show(algorithm)} (choose grid, random or bayes)")
    spec = _validate_spec(raw.get("spec", {}))
    parameters = _validate_parameters(raw.get("parameters"))
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise _fail(f"name: must be a string (got {_show(name)})")
    trials = validate_trials(raw.get("trials", 1))
    verbose = raw.get("verbose", 1)
    if not _is_number(verbose) and not isinstance(verbose, bool):
        raise _fail(f"verbose: must be a number (got {_show(verbose)})")
    return OptimizerConfig(algorithm, spec, parameters, name, trials)


def validate_trials(trials: Any, where: str = "trials") -> int:
    return _int_field(where, trials, 1)


def _validate_spec(spec: Any) -> SpecConfig:
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise _fail(f"spec: must be a dict (got {_show(spec)})")
    values = dict(SPEC_DEFAULTS)
    for key, value in spec.items():
        if key in SPEC_DEFAULTS:
            values[key] = value
        else:
            warnings.warn(f"spec.{key}: unknown key, ignored", stacklevel=4)
    if values["objective"] not in OBJECTIVES:
        raise _fail(f'spec.objective: must be "minimize" or "maximize" '
                    f"(got {_show(values['objective'])})")
    metric = values["metric"]
    if not isinstance(metric, str) or not metric:
        raise _fail(f"spec.metric: must be a non-empty string (got {_show(metric)})")
    if values["metricReduction"] not in METRIC_REDUCTIONS:
        raise _fail(f'spec.metricReduction: must be "best", "last" or "mean" '
                    f"(got {_show(values['metricReduction'])})")
    if not isinstance(values["randomize"], bool):
        raise _fail(f"spec.randomize: must be true or false (got {_show(values['randomize'])})")
    seed = values["seed"]
    if seed is not None:
        _int_field("spec.seed", seed, 0)
        if seed >= 2**63:
            raise _fail(f"spec.seed: must be below 2**63 (got {seed})")
    return SpecConfig(
        max_combo=_int_field("spec.maxCombo", values["maxCombo"], 0),
        objective=values["objective"],
        metric=metric,
        grid_size=_int_field("spec.gridSize", values["gridSize"], 1),
        min_sample_size=_int_field("spec.minSampleSize", values["minSampleSize"], 1),
        retry_limit=_int_field("spec.retryLimit", values["retryLimit"], 0),
        retry_assign_limit=_int_field("spec.retryAssignLimit", values["retryAssignLimit"], 0),
        randomize=values["randomize"],
        metric_reduction=values["metricReduction"],
        seed=seed,
    )


def _validate_parameters(parameters: Any) -> tuple[ParameterConfig, ...]:
    if parameters is None:
        raise _fail("parameters: missing (declare at least one parameter)")
    if not isinstance(parameters, dict):
        raise _fail(f"parameters: must be a dict of name -> definition (got {_show(parameters)})")
    if not parameters:
        raise _fail("parameters: empty (declare at least one parameter)")
    out = []
    for name, definition in parameters.items():
        if not isinstance(name, str) or not name:
            raise _fail(f"parameters: names must be non-empty strings (got {_show(name)})")
        out.append(_validate_parameter(name, definition))
    return tuple(out)


def _validate_parameter(name: str, definition: Any) -> ParameterConfig:
    where = f"parameters.{name}"
    if isinstance(definition, (list, tuple)):
        return _shorthand(where, name, list(definition))
    if _is_number(definition) or isinstance(definition, str):
        return _shorthand(where, name, [definition])
    if not isinstance(definition, dict):
        raise _fail(f"{where}: must be a dict with a 'type', a list of values or a value "
                    f"(got {_show(definition)})")
    if "type" not in definition:
        raise _fail(f"{where}: missing 'type' (integer, double, float, discrete or categorical)")
    kind = TYPE_ALIASES.get(definition["type"]) if isinstance(definition["type"], str) else None
    if kind is None:
        raise _fail(f"{where}.type: unknown type {_show(definition['type'])} "
                    f"(choose integer, double, float, discrete or categorical)")
    allowed = VALUES_KEYS if kind in ("discrete", "categorical") else NUMERIC_KEYS
    for key in definition:
        if key not in allowed:
            raise _fail(f"{where}: unknown key {_show(key)} for a {kind} parameter "
                        f"(allowed: {', '.join(allowed)})")
    grid_size = definition.get("gridSize")
    if grid_size is not None:
        _int_field(f"{where}.gridSize", grid_size, 1)
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
        raise _fail(f"{where}.values: must be a list (got {_show(values)})")
    if not values:
        raise _fail(f"{where}.values: empty list")
    strings = [isinstance(v, str) for v in values]
    numbers = [_is_number(v) for v in values]
    if any(strings) and any(numbers):
        raise _fail(f"{where}.values: mixed types (numbers and strings) in {values!r}")
    for value in values:
        if kind == "categorical" and not isinstance(value, str):
            raise _fail(f"{where}.values: categorical values must be strings "
                        f"(got {_show(value)}); use discrete for numbers")
        if kind == "discrete":
            if isinstance(value, str):
                raise _fail(f"{where}.values: discrete values must be numbers "
                            f"(got {_show(value)}); use categorical for strings")
            if not _is_number(value):
                raise _fail(f"{where}.values: discrete values must be numbers (got {_show(value)})")
            if not math.isfinite(value):
                raise _fail(f"{where}.values: values must be finite (got {value})")
    seen = set()
    for value in values:
        if value in seen:
            raise _fail(f"{where}.values: duplicate value {_show(value)}")
        seen.add(value)
    return tuple(values)


def _number(where: str, value: Any) -> float:
    if not _is_number(value):
        raise _fail(f"{where}: must be a number (got {_show(value)})")
    if not math.isfinite(value):
        raise _fail(f"{where}: must be finite (got {value})")
    return value


def _validate_numeric(where: str, name: str, kind: str, definition: dict,
                      grid_size: int | None) -> ParameterConfig:
    scaling = definition.get("scalingType", "uniform")
    if scaling not in SCALING_TYPES:
        raise _fail(f"{where}.scalingType: unknown scaling {_show(scaling)} "
                    f"(choose {', '.join(SCALING_TYPES)})")
    bounds = {}
    for key in ("min", "max"):
        if definition.get(key) is not None:
            value = _number(f"{where}.{key}", definition[key])
            if kind == "integer":
                if value != int(value):
                    raise _fail(f"{where}.{key}: an integer parameter needs integer bounds "
                                f"(got {value})")
                value = int(value)
            bounds[key] = value
    low, high = bounds.get("min"), bounds.get("max")
    mu = sigma = None
    if scaling in ("normal", "lognormal"):
        for key in ("mu", "sigma"):
            if definition.get(key) is None:
                raise _fail(f"{where}: {scaling} scaling needs '{key}'")
        mu = _number(f"{where}.mu", definition["mu"])
        sigma = _number(f"{where}.sigma", definition["sigma"])
        if sigma <= 0:
            raise _fail(f"{where}.sigma: must be > 0 (got {sigma})")
    else:
        for key in ("min", "max"):
            if key not in bounds:
                raise _fail(f"{where}: {scaling} scaling needs '{key}'")
        for key in ("mu", "sigma"):
            if definition.get(key) is not None:
                _number(f"{where}.{key}", definition[key])
    if low is not None and high is not None and low > high:
        raise _fail(f"{where}: min > max ({low} > {high})")
    if scaling in ("linear", "uniform") and not math.isfinite(high - low):
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
        _check_truncation_mass(where, scaling, mu, sigma,
                               None if low is None else low - pad,
                               None if high is None else high + pad)
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
                    f"{scaling}(mu={mu}, sigma={sigma})")


def load(source: Any) -> tuple[OptimizerConfig, dict[str, Any]]:
    """Validate a dict or a config file; return the config and the raw mapping."""
    if isinstance(source, dict):
        return validate(source), source
    raw = read_config_file(source)
    return validate(raw, source=os.fspath(source)), raw
