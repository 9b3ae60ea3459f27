"""Fuzz test of config loading (issue 8): whatever a config file holds, one of two outcomes.

Either a valid search, whose first suggestion and random draws are finite
numbers of each parameter's type, or one of our exceptions with a one-line
message under 300 characters and nothing written to the store. Either way
within a time and a memory bound (measured with tracemalloc, which also sees
numpy's buffers). The documents are random JSON / YAML / Python-literal
values, and random mutations (of the values, of the text, of the bytes) of
every complete config in the Comet docs (tests/data/docs-configs.txt).
"""

from __future__ import annotations

import ast
import json
import math
import os
import tempfile
import time
import tracemalloc

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from comet_optimize import Optimizer, OptimizerException
from comet_optimize.algorithms.base import History

DOCS_FILE = os.path.join(os.path.dirname(__file__), "data", "docs-configs.txt")
TIME_LIMIT = 5.0  # seconds per document, under tracemalloc, on a busy machine
MEMORY_LIMIT = 64 * 2**20  # bytes allocated at the peak, per document
MESSAGE_LIMIT = 300
FORMATS = (".json", ".config", ".yaml", ".yml", ".txt")

WORDS = [
    "algorithm", "spec", "parameters", "name", "trials", "verbose", "type", "min", "max",
    "scalingType", "mu", "sigma", "gridSize", "values", "maxCombo", "objective", "metric",
    "minSampleSize", "retryLimit", "retryAssignLimit", "randomize", "seed", "metricReduction",
    "grid", "random", "bayes", "integer", "double", "float", "discrete", "categorical",
    "linear", "uniform", "normal", "lognormal", "loguniform", "minimize", "maximize", "loss",
    "x", "y",
]
NUMBERS = [
    0, 1, -1, 2, 10, 0.5, -0.0, 1e-300, 5e-324, 1e308, -1e308, 1e17, 2**53 + 1, 2**63 - 1,
    2**63, -2**63 - 1, 2**64, 10**400, -10**400, 10**8, 10**12, 800, 40,
    math.inf, -math.inf, math.nan,
]
NUMBER_TEXTS = [
    "0", "-1", "1e999", "-1e999", "1" + "0" * 400, "1" + "0" * 5000, "0x10", "1_000", "1e308",
    "NaN", "Infinity", ".inf", ".nan", "1.0e+308", "100000000", "5e-324", "--1", "True", "null",
]
NOISE = list("[]{}(),:'\"#&*!|>-?\\\n\t ") + ["\x00", "\ufeff", "\u00e9", "<<", "---", "..."]


def docs_configs() -> list[str]:
    with open(DOCS_FILE, encoding="utf-8") as handle:
        text = "".join(line for line in handle if not line.startswith("# "))
    return [block.strip() for block in text.split("\n----\n")]


DOCS = docs_configs()
DOCS_VALUES = [ast.literal_eval(text) for text in DOCS]  # the docs write Python literals

# ---------------------------------------------------------------- strategies

scalars = (st.none() | st.booleans() | st.sampled_from(NUMBERS) | st.integers()
           | st.floats() | st.sampled_from(WORDS) | st.text(max_size=12))
keys = st.sampled_from(WORDS) | st.text(max_size=8) | st.integers(-3, 3)
documents = st.recursive(
    scalars,
    lambda children: (st.lists(children, max_size=5)
                      | st.dictionaries(keys, children, max_size=6)),
    max_leaves=30,
)


def serialise(value, extension: str) -> str:
    """The value in the file format its extension implies (JSON or literal by choice)."""
    if extension in (".yaml", ".yml"):
        return yaml.safe_dump(value, default_flow_style=None)
    if extension == ".config":
        return repr(value)
    return json.dumps(value)


def paths_of(value, prefix=()):
    """Every place in a nested value, as a tuple of keys / indexes."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths_of(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths_of(child, prefix + (index,))


@st.composite
def mutated_values(draw):
    """A docs config as a value, with a few places replaced, removed or added."""
    value = json.loads(json.dumps(draw(st.sampled_from(DOCS_VALUES))))  # a deep copy
    for _ in range(draw(st.integers(1, 4))):
        places = [path for path in paths_of(value) if path]
        if not places:  # the edits so far left nothing inside to edit (a scalar, {} or [])
            break
        path = draw(st.sampled_from(places))
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        operation = draw(st.sampled_from(["set", "set", "delete", "add", "wrap"]))
        if operation == "set":
            parent[path[-1]] = draw(scalars | documents)
        elif operation == "delete":
            del parent[path[-1]]
        elif operation == "wrap":
            parent[path[-1]] = [parent[path[-1]]]
        elif isinstance(parent, dict):
            parent[draw(keys)] = draw(scalars)
        else:
            parent.append(draw(scalars))
    return value


@st.composite
def config_shaped(draw):
    """Mostly valid configs with, half the time, one number made extreme (item 8's cases)."""
    benign = st.integers(1, 50) | st.floats(0.01, 100)
    parameters = {}
    for name in draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True)):
        kind = draw(st.sampled_from(["integer", "double", "discrete", "categorical"]))
        definition: dict = {"type": kind}
        if kind == "discrete":
            definition["values"] = draw(st.lists(benign, min_size=1, max_size=4, unique=True))
        elif kind == "categorical":
            definition["values"] = draw(st.lists(st.text(max_size=3), min_size=1, max_size=4,
                                                 unique=True))
        else:
            scaling = draw(st.sampled_from(["linear", "uniform", "normal", "lognormal",
                                            "loguniform"]))
            definition["scalingType"] = scaling
            low, high = sorted(draw(st.lists(st.integers(1, 50), min_size=2, max_size=2)))
            if scaling in ("normal", "lognormal"):
                definition.update(mu=draw(st.integers(1, 3)), sigma=draw(st.floats(0.1, 2)))
            if scaling not in ("normal", "lognormal") or draw(st.booleans()):
                definition.update(min=low, max=high + 5)
            if kind == "double" and draw(st.booleans()):
                definition = {key: float(value) if key in ("min", "max") else value
                              for key, value in definition.items()}
        if draw(st.booleans()):
            definition["gridSize"] = draw(st.integers(1, 20))
        parameters[name] = definition
    config = {"algorithm": draw(st.sampled_from(["grid", "random", "bayes"])),
              "spec": {"maxCombo": draw(st.integers(0, 20))}, "parameters": parameters}
    if draw(st.booleans()):  # one number, anywhere, made extreme
        places = [path for path in paths_of(config)
                  if path and isinstance(_at(config, path), (int, float))
                  and not isinstance(_at(config, path), bool)]
        path = draw(st.sampled_from(places))
        _at(config, path[:-1])[path[-1]] = draw(st.sampled_from(NUMBERS))
    return config


def _at(value, path):
    for step in path:
        value = value[step]
    return value


@st.composite
def mutated_texts(draw, extension: str):
    """A docs config as text (its own Python literal, or re-written), with edits."""
    if extension in (".yaml", ".yml") or draw(st.booleans()):
        text = serialise(draw(st.sampled_from(DOCS_VALUES)), extension)
    else:
        text = draw(st.sampled_from(DOCS))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        span = draw(st.integers(0, 12))
        operation = draw(st.sampled_from(["delete", "insert", "repeat", "number", "nest"]))
        if operation == "delete":
            text = text[:at] + text[at + span:]
        elif operation == "insert":
            insert = draw(st.lists(st.sampled_from(NOISE + WORDS), max_size=4))
            text = text[:at] + "".join(insert) + text[at:]
        elif operation == "repeat":
            text = text[:at] + text[at:at + span] * draw(st.integers(2, 50)) + text[at:]
        elif operation == "number":
            text = text[:at] + draw(st.sampled_from(NUMBER_TEXTS)) + text[at + span:]
        else:
            depth = draw(st.sampled_from([3, 40, 1000, 5000]))
            opener = draw(st.sampled_from(["[", "{", "(", "- ", "a: "]))
            text = text[:at] + opener * depth + text[at:]
    return text


@st.composite
def encoded(draw, text: str) -> bytes:
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le",
                                     "utf-32", "latin-1", "cp1252"]))
    return text.encode(encoding, errors="replace")


# ---------------------------------------------------------------- the check


def listing(root: str) -> list[str]:
    found = []
    for folder, _, files in os.walk(root):
        found.extend(os.path.join(folder, name) for name in files)
        found.append(folder)
    return sorted(found)


def check_outcome(folder: str, extension: str, data: bytes) -> str:
    """Create a search from the file; judge the outcome as the module docstring says."""
    path = os.path.join(folder, "c" + extension)
    with open(path, "wb") as handle:
        handle.write(data)
    store = os.path.join(folder, "store")
    before = listing(store)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        optimizer, error = Optimizer(path, verbose=0, store=store), None
    except OptimizerException as raised:
        optimizer, error = None, raised
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < TIME_LIMIT, f"{elapsed:.1f} s for {data[:200]!r}"
    assert peak < MEMORY_LIMIT, f"{peak / 2**20:.0f} MiB for {data[:200]!r}"
    if error is not None:
        message = str(error)
        assert "\n" not in message and "\r" not in message, message
        assert len(message) < MESSAGE_LIMIT, message
        assert listing(store) == before, f"written although refused: {message}"
        return "refused"
    check_valid_search(optimizer)
    return "valid"


def check_valid_search(optimizer: Optimizer) -> None:
    space = optimizer.space
    types = {p.name: p for p in optimizer.parsed_config.parameters}
    rng = np.random.default_rng(0)
    rows = list(space.sample_internal(rng, 16))
    suggestion = optimizer.algorithm.suggest(History.empty(len(space.dimensions)), rng, set())
    samples = [space.decode(row) for row in rows] + [suggestion]
    for params in samples:
        assert params is not None and set(params) == set(types)
        for name, value in params.items():
            parameter = types[name]
            if parameter.type in ("discrete", "categorical"):
                assert value in parameter.values
            elif parameter.type == "integer":
                assert type(value) is int, (name, value)
            else:
                assert type(value) is float and math.isfinite(value), (name, value)


@pytest.fixture(scope="module")
def warm():
    """Import once what a search imports on first use (scipy, yaml), outside the limits."""
    with tempfile.TemporaryDirectory(prefix="fz") as path:
        for text in DOCS:
            Optimizer(ast.literal_eval(text), verbose=0, store=path)
        with open(os.path.join(path, "c.yaml"), "w", encoding="utf-8") as handle:
            handle.write(serialise(DOCS_VALUES[0], ".yaml"))
        Optimizer(handle.name, verbose=0, store=path)


# In memory where there is such a folder: creating a valid search fsyncs, and that
# (not the checks) is most of this test's time on a disk.
MEMORY_FOLDER = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


@pytest.fixture
def folder(warm):
    """One folder (and store) for all of a test's examples: refusals must leave it as it was."""
    with tempfile.TemporaryDirectory(prefix="fz", dir=MEMORY_FOLDER) as path:
        yield path


# A few seconds in CI; COMET_OPTIMIZE_FUZZ_EXAMPLES=5000 for a long run.
EXAMPLES = int(os.environ.get("COMET_OPTIMIZE_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(value=documents, extension=st.sampled_from(FORMATS))
def test_random_documents_load_or_are_refused_in_one_line(folder, value, extension):
    event(check_outcome(folder, extension, serialise(value, extension).encode()))


@FUZZ
@given(value=config_shaped(), extension=st.sampled_from(FORMATS))
def test_config_shaped_documents_load_or_are_refused_in_one_line(folder, value, extension):
    event(check_outcome(folder, extension, serialise(value, extension).encode()))


@FUZZ
@given(value=mutated_values(), extension=st.sampled_from(FORMATS))
def test_mutated_docs_configs_load_or_are_refused_in_one_line(folder, value, extension):
    event(check_outcome(folder, extension, serialise(value, extension).encode()))


@FUZZ
@given(data=st.data(), extension=st.sampled_from(FORMATS))
def test_edited_docs_config_texts_load_or_are_refused_in_one_line(folder, data, extension):
    text = data.draw(mutated_texts(extension))
    event(check_outcome(folder, extension, data.draw(encoded(text))))


@FUZZ
@given(data=st.binary(max_size=200), extension=st.sampled_from(FORMATS))
def test_random_bytes_are_refused_in_one_line(folder, data, extension):
    event(check_outcome(folder, extension, data))


def test_every_docs_config_creates_a_search(folder):
    """The seeds of the mutations are themselves valid (else the fuzz would test little)."""
    assert len(DOCS) >= 10
    for text in DOCS:
        assert check_outcome(folder, ".config", text.encode()) == "valid", text
