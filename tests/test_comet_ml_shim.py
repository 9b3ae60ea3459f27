"""``import comet_ml`` in scripts run by ``comet optimize`` (and ``python -m comet_optimize run``).

The shim is importable only where we put it: a real comet_ml is never
shadowed unless asked for, and plain ``python script.py`` still fails to
import comet_ml, because nothing named comet_ml is installed.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys

import pytest

from comet_optimize import _compat
from comet_optimize.store import FileStore

COMET = [sys.executable, "-m", "comet_optimize.cli"]
RUN = [sys.executable, "-m", "comet_optimize", "run"]

FROM_IMPORT = """\
import sys
from comet_ml import Optimizer
opt = Optimizer(sys.argv[1], verbose=0)
for experiment in opt.get_experiments(project_name="shim", workspace="team"):
    assert (experiment.project_name, experiment.workspace) == ("shim", "team")
    assert experiment.alive and not experiment.disabled  # scripts check these
    # and set these, as Comet keeps them: plain attributes
    experiment.auto_metric_logging, experiment.parse_args = False, False
    experiment.disabled = not experiment.disabled  # raised AttributeError
    assert experiment.disabled
    experiment.log_dependency("numpy", "2.0")  # Comet's API: a no-op offline
    experiment.log_metric("loss", experiment.params["x"] ** 2)
print("from-import done")
"""

MODULE_IMPORT = """\
import sys
import comet_ml
from comet_ml.exceptions import InvalidOptimizerParameters
assert comet_ml.OfflineExperiment is comet_ml.Experiment
comet_ml.init()
opt = comet_ml.Optimizer(json.loads(sys.argv[1]) if sys.argv[1].startswith("{") else sys.argv[1],
                         verbose=0)
for experiment in opt.get_experiments():
    experiment.log_metric("loss", experiment.params["x"] ** 2)
print("module-import done", comet_ml.__file__, sys.argv[2:])
""".replace("import sys\n", "import json, sys\n", 1)

WHICH = "import comet_ml, sys\nprint('comet_ml from', comet_ml.__file__)\n"


def environment(store: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "COMET_OPTIMIZER_ID"}
    env["COMET_OPTIMIZE_STORE"] = store
    if "PYTHONPATH" in extra and os.environ.get("PYTHONPATH"):
        extra["PYTHONPATH"] += os.pathsep + os.environ["PYTHONPATH"]
    env.update(extra)
    return env


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def config(tmp_path, values=range(4)) -> str:
    return write(tmp_path, "opt.config", json.dumps(
        {"algorithm": "grid", "parameters": {"x": list(values)}}))


def completed(store: str) -> list[int]:
    from comet_optimize import Optimizer

    return [Optimizer(i, verbose=0, store=store).status()["completed"]
            for i in FileStore(store).list_ids()]


@pytest.fixture
def store(tmp_path) -> str:  # the file store only: these tests are about processes
    return str(tmp_path / "store")


def test_nothing_named_comet_ml_is_installed():
    assert _compat.real_comet_ml_installed() is False
    folders = [*site.getsitepackages(), site.getusersitepackages()]
    for folder in folders:
        if os.path.isdir(folder):
            assert not [n for n in os.listdir(folder) if n.split(".")[0] == "comet_ml"], folder


@pytest.mark.parametrize("text", [FROM_IMPORT, MODULE_IMPORT])
def test_a_comet_script_runs_unchanged_under_the_launcher(tmp_path, store, text):
    script = write(tmp_path, "train.py", text)
    opt_config = config(tmp_path)
    alone = subprocess.run([sys.executable, script, opt_config], env=environment(store),
                           capture_output=True, text=True, timeout=60)
    assert alone.returncode == 1
    assert "ModuleNotFoundError: No module named 'comet_ml'" in alone.stderr  # not shadowed

    run = subprocess.run([*COMET, "optimize", "-j", "2", script, opt_config, "--flag"],
                         env=environment(store), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count(" done") == 2
    assert completed(store) == [4]
    if text is MODULE_IMPORT:
        assert os.path.join("comet_optimize", "_compat", "comet_ml") in run.stdout
        assert "['--flag']" in run.stdout


def test_no_comet_ml_shim_leaves_the_import_failing(tmp_path, store):
    script = write(tmp_path, "train.py", FROM_IMPORT)
    run = subprocess.run([*COMET, "optimize", "--no-comet-ml-shim", script, config(tmp_path)],
                         env=environment(store), capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "No module named 'comet_ml'" in run.stderr
    assert "--no-comet-ml-shim" in run.stderr  # the resume line keeps the choice


def fake_real_comet_ml(tmp_path) -> str:
    """A folder with a package named comet_ml, standing for a real installation."""
    folder = tmp_path / "site"
    (folder / "comet_ml").mkdir(parents=True)
    (folder / "comet_ml" / "__init__.py").write_text("REAL = True\n")
    return str(folder)


def test_a_real_comet_ml_is_not_shadowed_unless_asked(tmp_path, store):
    script = write(tmp_path, "which.py", WHICH)
    env = environment(store, PYTHONPATH=fake_real_comet_ml(tmp_path))
    opt_config = config(tmp_path, [1])
    run = subprocess.run([*COMET, "optimize", script, opt_config], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert f"comet_ml from {tmp_path / 'site' / 'comet_ml' / '__init__.py'}" in run.stdout

    run = subprocess.run([*COMET, "optimize", "--comet-ml-shim", script, opt_config], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert os.path.join("_compat", "comet_ml", "__init__.py") in run.stdout
    assert "--comet-ml-shim: workers import comet_optimize as comet_ml" in run.stderr


def test_python_m_comet_optimize_run_gives_one_script_the_shim(tmp_path, store):
    script = write(tmp_path, "train.py", MODULE_IMPORT)
    opt = json.dumps({"algorithm": "grid", "parameters": {"x": [1, 2]}})
    run = subprocess.run([*RUN, script, opt, "--epochs", "3"], env=environment(store),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "module-import done" in run.stdout and "['--epochs', '3']" in run.stdout
    assert completed(store) == [2]

    failing = write(tmp_path, "fail.py", "import comet_ml, sys\nsys.exit(7)\n")
    assert subprocess.run([*RUN, failing], env=environment(store)).returncode == 7

    which = write(tmp_path, "which.py", WHICH)
    env = environment(store, PYTHONPATH=fake_real_comet_ml(tmp_path))
    real = subprocess.run([*RUN, which], env=env, capture_output=True, text=True)
    assert "site" in real.stdout and "_compat" not in real.stdout  # a real one wins
    forced = subprocess.run([*RUN, "--comet-ml-shim", which], env=env, capture_output=True,
                            text=True)
    assert "_compat" in forced.stdout

    for args, message in (([], "missing SCRIPT"), ([str(tmp_path / "nope.py")], "no such file"),
                          (["--bogus", which], "no such option '--bogus'")):
        bad = subprocess.run([*RUN, *args], env=environment(store), capture_output=True,
                             text=True)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
        assert bad.stderr.startswith("Error: ") and message in bad.stderr


API_KEY_FROM_THE_ENVIRONMENT = """\
import os, sys
from comet_ml import Optimizer
opt = Optimizer(sys.argv[1], api_key=os.environ["COMET_API_KEY"], project_name="color-ml",
                verbose=0)
for experiment in opt.get_experiments():
    experiment.log_metric("loss", experiment.params["x"])
print("key:", os.environ["COMET_API_KEY"])
"""


def test_a_script_reading_comet_api_key_from_the_environment_runs(tmp_path, store):
    """A public LightGBM search (color-ml) passes ``api_key=os.environ["COMET_API_KEY"]``,
    as Comet users may (they all have one set): offline none is set, and each worker died
    of a KeyError before its first experiment. The shim's runs give a stand-in; a key the
    user set is left as it is."""
    script = write(tmp_path, "train.py", API_KEY_FROM_THE_ENVIRONMENT)
    env = environment(store)
    env.pop("COMET_API_KEY", None)
    run = subprocess.run([*COMET, "optimize", "-j", "2", script, config(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("key: offline (comet_optimize needs no API key)") == 2
    assert completed(store) == [4]
    one = subprocess.run([*RUN, script, config(tmp_path, range(2))], env=env,
                         capture_output=True, text=True, timeout=60)
    assert one.returncode == 0, one.stderr
    own = subprocess.run([*RUN, script, config(tmp_path, range(2))],
                         env={**env, "COMET_API_KEY": "the user's"}, capture_output=True,
                         text=True, timeout=60)
    assert own.returncode == 0 and "key: the user's" in own.stdout, own.stderr


def test_a_misspelled_name_is_still_an_attribute_error(tmp_path):
    code = "import comet_ml\ncomet_ml.Optimiser\n"
    run = subprocess.run([*RUN, write(tmp_path, "typo.py", code)], capture_output=True,
                         text=True, env=environment(str(tmp_path)))
    assert run.returncode == 1
    assert "AttributeError: module 'comet_ml'" in run.stderr and "'Optimiser'" in run.stderr


NEWER_SDK = """\
import comet_ml
from comet_ml import ExistingExperiment, ExperimentConfig

comet_ml.login()
assert comet_ml.get_running_experiment() is None
experiment = comet_ml.start(project_name="p", experiment_config=ExperimentConfig(
    name="baseline", tags=["a", "b"], auto_metric_logging=False))
assert comet_ml.get_running_experiment() is experiment is comet_ml.get_global_experiment()
assert experiment.get_name() == "baseline" and experiment.get_tags() == ["a", "b"]
experiment.log_metric("loss", 0.5)
experiment.end()
assert comet_ml.get_running_experiment() is None
for call in (lambda: ExistingExperiment(previous_experiment="abc"),
             lambda: comet_ml.start(experiment_key="abc")):
    try:
        call()
    except comet_ml.OptimizerException as error:
        print("refused:", error)
print("newer sdk done")
"""


def test_the_newer_sdk_entry_points_start_and_refuse_clearly(tmp_path, store):
    run = subprocess.run([*RUN, write(tmp_path, "newer.py", NEWER_SDK)], capture_output=True,
                         text=True, env=environment(store), timeout=60)
    assert run.returncode == 0, run.stderr
    assert "newer sdk done" in run.stdout
    refusals = [line for line in run.stdout.splitlines() if line.startswith("refused:")]
    assert len(refusals) == 2 and all("offline there is none" in r for r in refusals)


INTEGRATIONS = """\
import sys
import comet_ml
from comet_ml import API, Artifact, Optimizer
from comet_ml.api import API as API_FROM_ITS_MODULE
from comet_ml.integration.pytorch import log_model as log_torch_model, load_model
from comet_ml.integration.sklearn import log_model as log_sklearn_model
from sklearn.linear_model import LinearRegression

opt = Optimizer(sys.argv[1], verbose=0)
for experiment in opt.get_experiments():
    assert comet_ml.get_running_experiment() is experiment  # the newest, as in Comet
    log_torch_model(experiment, {"weight": [experiment.params["x"]]}, "net")
    log_sklearn_model(experiment, "regression", LinearRegression().fit([[0], [1]], [0, 1]))
    experiment.log_metric("loss", experiment.params["x"])
    print("logged to", experiment.url)
assert comet_ml.flush() is True
comet_ml.end()  # nothing running any more: nothing to do
assert API_FROM_ITS_MODULE is API
for make in (API, Artifact, lambda: load_model("experiment://abc/net")):
    try:
        make()
    except comet_ml.OptimizerException as error:
        print("refused:", error)
print("integrations done")
"""

# A stand-in for torch (not a test dependency) with torch's save and load signatures.
FAKE_TORCH = """\
import pickle

def save(obj, f, pickle_module=pickle, **kwargs):
    pickle_module.dump(obj, f)

def load(f, map_location=None, pickle_module=pickle, **kwargs):
    with open(f, "rb") as handle:
        return pickle_module.load(handle)
"""


def test_comet_s_framework_log_model_and_server_only_names(tmp_path, store):
    (tmp_path / "fake" / "torch").mkdir(parents=True)
    (tmp_path / "fake" / "torch" / "__init__.py").write_text(FAKE_TORCH)
    script = write(tmp_path, "integrations.py", INTEGRATIONS)
    run = subprocess.run([*COMET, "optimize", script, config(tmp_path, range(2))],
                         env=environment(store, PYTHONPATH=str(tmp_path / "fake")),
                         capture_output=True, text=True, timeout=120)

    assert run.returncode == 0, run.stderr
    assert "integrations done" in run.stdout and completed(store) == [2]
    refusals = [line for line in run.stdout.splitlines() if "refused:" in line]
    assert len(refusals) == 3, run.stdout
    assert all("offline" in line for line in refusals)
    models = sorted(os.path.relpath(os.path.join(folder, name), store)
                    for folder, _, names in os.walk(store) for name in names
                    if name.startswith("comet-"))
    assert len(models) == 4 and {os.path.basename(m) for m in models} == {
        "comet-torch-model.pth", "comet-sklearn-model.pkl"}
    import pickle

    torch_file = next(m for m in models if m.endswith(".pth"))
    with open(os.path.join(store, torch_file), "rb") as handle:
        assert pickle.load(handle)["weight"][0] in (0, 1)


# What PyTorch Lightning's CometLogger (2.5+) does with a Comet experiment, call for call
# (checked against lightning 2.6.6 itself; lightning is not a test dependency), in
# Comet's own example: get_parameters() and CometLogger(optimizer_data=parameters).
LIGHTNING_LOGGER = """\
import sys
import comet_ml
from comet_ml import Optimizer

opt = Optimizer(sys.argv[1], verbose=0)
for parameters in opt.get_parameters():
    # CometLogger.__init__ and _create_experiment
    config = comet_ml.ExperimentConfig(optimizer_data=parameters)
    assert config.offline_directory is None  # Trainer.log_dir reads it
    experiment = comet_ml.start(api_key=None, workspace=None, project="lightning",
                                experiment_key=None, mode=None, online=None,
                                experiment_config=config)
    experiment.log_other("Created from", "pytorch-lightning")
    # log_hyperparams, log_graph, log_metrics (a step's), finalize
    experiment.__internal_api__log_parameters__(
        parameters=parameters["parameters"], framework="pytorch-lightning",
        flatten_nested=True, source="manual")
    experiment.__internal_api__set_model_graph__(graph="Linear(2, 1)",
                                                 framework="pytorch-lightning")
    experiment.__internal_api__log_metrics__({"loss": 10.0 + parameters["parameters"]["x"]},
                                             step=0, epoch=0, prefix=None,
                                             framework="pytorch-lightning")
    experiment.flush()
print("lightning done")
"""


def test_pytorch_lightning_s_comet_logger_reports_an_assignment(tmp_path, store):
    """Each call raised (no offline_directory; start() dropped the optimizer_data, so
    the metrics went to an experiment of no search; no __internal_api__ methods)."""
    run = subprocess.run([*COMET, "optimize", write(tmp_path, "pl.py", LIGHTNING_LOGGER),
                          config(tmp_path, range(3))], env=environment(store), cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "lightning done" in run.stdout
    from comet_optimize import Optimizer

    [search] = FileStore(store).list_ids()
    rows = Optimizer(search, verbose=0, store=store).experiments()
    assert sorted((row["status"], row["score"]) for row in rows) == [
        ("completed", 10.0), ("completed", 11.0), ("completed", 12.0)]
    # Each result reached the search when the next trial's logger started, not at the
    # process's exit: the next decision but one could learn from it.
    from tests.conftest import stored_events

    order = [(event["type"], event.get("count")) for event in stored_events(store, search)]
    assert order.index(("end", 1)) < order.index(("assign", 3)), order


def test_start_returns_the_running_experiment_or_ends_it_as_comet_does(tmp_path):
    """Comet's start() hands back the running experiment when its key settings match,
    and otherwise ends it before making the new one."""
    script = """\
import comet_ml
from comet_ml import Optimizer

first = comet_ml.start(project_name="p")
assert comet_ml.start(project_name="p") is first and not first.ended
second = comet_ml.start(project_name="p", mode="create")
assert first.ended and second is not first
third = comet_ml.start(project_name="q")
assert second.ended and not third.ended

opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2, 3, 4]}}, verbose=0)
data = opt.next_data()
one = comet_ml.start(experiment_config=comet_ml.ExperimentConfig(optimizer_data=data))
assert third.ended
again = comet_ml.start(experiment_config=comet_ml.ExperimentConfig(optimizer_data=data))
assert again is one and not one.ended
one.log_metric("loss", 1.0)
other = comet_ml.start(experiment_config=comet_ml.ExperimentConfig(
    optimizer_data=opt.next_data()))
assert one.ended and not other.ended
print([row["status"] for row in opt.experiments()])
other.log_metric("loss", 1.5)
other.end()

# Inside an optimizer's loop, a start() of no assignment of its own (Hugging Face's
# Comet callback) logs to the loop's experiment.
for experiment in opt.get_experiments():
    assert comet_ml.start(experiment_config=comet_ml.ExperimentConfig(name="run")) \
        is experiment
    experiment.log_metric("loss", 2.0)
"""
    run = subprocess.run([sys.executable, write(tmp_path, "s.py", script)],
                         env=environment(str(tmp_path / "store"),
                                         PYTHONPATH=os.path.dirname(_compat.__file__)),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "['completed', 'running']"
    from comet_optimize import Optimizer

    [search] = FileStore(str(tmp_path / "store")).list_ids()
    rows = Optimizer(search, verbose=0, store=str(tmp_path / "store")).experiments()
    assert [row["status"] for row in rows] == ["completed"] * 4


# What Hugging Face's Trainer (transformers 4.57, report_to="comet_ml" or its default
# "all") does with comet_ml, call for call (checked against transformers itself, which
# is not a test dependency): it looks the distribution's version up, reads the API key
# from comet_ml.config, and start()s an experiment inside the optimizer's loop.
HUGGING_FACE_TRAINER = """\
import importlib.metadata, sys
import comet_ml
from comet_ml import Optimizer

version = importlib.metadata.version("comet_ml")
assert tuple(int(part) for part in version.split("+")[0].split(".")[:3]) >= (3, 43, 2)
assert comet_ml.config.get_config("comet.api_key") is not None
opt = Optimizer(sys.argv[1], verbose=0)
for experiment in opt.get_experiments():
    # CometCallback.setup
    started = comet_ml.start(online=None, mode=None,
                             experiment_config=comet_ml.ExperimentConfig(name="out"))
    assert started is experiment
    started.__internal_api__set_model_graph__(object(), framework="transformers")
    started.__internal_api__log_parameters__(
        {"args": {"output_dir": "out", "learning_rate": 5e-05, "report_to": ["comet_ml"],
                  "fsdp_config": {"min_num_params": 0}, "seed": None},
         "config": {"vocab_size": 50, "architectures": ["BertForMaskedLM"]}},
        framework="transformers", source="manual", flatten_nested=True)
    # CometCallback.on_log, after rewrite_logs
    started.__internal_api__log_metrics__({"train/loss": 0.7, "train/epoch": 0.5},
                                          step=2, epoch=0.5, framework="transformers")
    started.__internal_api__log_metrics__(
        {"eval/loss": 1.0 + experiment.params["x"], "train/epoch": 1.0}, step=4, epoch=1.0,
        framework="transformers")
print("trainer done")
"""


def test_hugging_face_s_trainer_logs_to_the_optimizer_s_experiment(tmp_path):
    """Hugging Face's Comet callback was never used: no comet_ml distribution to find,
    no comet_ml.config to read the API key from; and its start() made an experiment of
    no search, so the optimizer's own ended 'without the metric'."""
    options = write(tmp_path, "opt.config", json.dumps(
        {"algorithm": "grid", "parameters": {"x": [0, 1, 2]}, "spec": {"metric": "eval/loss"}}))
    store = str(tmp_path / "store")
    run = subprocess.run([*COMET, "optimize", write(tmp_path, "hf.py", HUGGING_FACE_TRAINER),
                          options], env=environment(store), cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "trainer done" in run.stdout
    from comet_optimize import Optimizer

    [search] = FileStore(store).list_ids()
    rows = Optimizer(search, verbose=0, store=store).experiments()
    assert sorted((row["status"], row["score"]) for row in rows) == [
        ("completed", 1.0), ("completed", 2.0), ("completed", 3.0)]


THREADS_AND_FORK = """\
import os, threading
import comet_ml
from comet_ml import Optimizer

opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2, 3, 4]},
                 "spec": {"metric": "loss"}}, verbose=0)
mine, ready, checked = {}, threading.Barrier(2), threading.Barrier(2)

def trial(name):
    experiment = opt.next()  # each thread's own trial
    mine[name] = experiment
    ready.wait()
    # Hugging Face's callback in this thread: this thread's trial, never the other's
    assert comet_ml.start(experiment_config=comet_ml.ExperimentConfig(name=name)) \\
        is experiment
    checked.wait()
    experiment.log_metric("loss", experiment.params["x"])
    experiment.end()

threads = [threading.Thread(target=trial, args=(name,)) for name in "ab"]
[thread.start() for thread in threads]
[thread.join() for thread in threads]

held = opt.next()  # the parent's trial, still running when the child starts its own
data = opt.next_data()
child = os.fork()
if child == 0:
    started = comet_ml.start(experiment_config=comet_ml.ExperimentConfig(optimizer_data=data))
    started.log_metric("loss", 40.0)
    started.end()
    os._exit(0)
os.waitpid(child, 0)
assert not held.ended
held.log_metric("loss", 30.0)
held.end()
print(sorted((row["status"], row["score"]) for row in opt.experiments()))
"""


def test_start_never_takes_another_thread_s_or_the_parent_s_experiment(tmp_path):
    """start() took the process's newest experiment: another thread's trial (whose
    result then went to the wrong trial, or which it ended mid-training), or, in a
    forked child, the parent's (ended while the parent trained it, then handed out
    again)."""
    run = subprocess.run([sys.executable, write(tmp_path, "s.py", THREADS_AND_FORK)],
                         env=environment(str(tmp_path / "store"),
                                         PYTHONPATH=os.path.dirname(_compat.__file__)),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(sorted([("completed", 1.0), ("completed", 2.0),
                                             ("completed", 30.0), ("completed", 40.0)]))


@pytest.fixture
def comet_ml_here(monkeypatch):
    """The stand-in imported in this process, forgotten afterwards."""
    monkeypatch.syspath_prepend(_compat.FOLDER)
    import comet_ml

    yield comet_ml
    for name in [n for n in sys.modules if n == "comet_ml" or n.startswith("comet_ml.")]:
        del sys.modules[name]


def test_the_sdk_calls_scripts_make_that_were_missing_keep_the_trial_running(
        comet_ml_here, store, tmp_path, capfd):
    """``comet_ml.CometExperiment`` in an annotation, ``stop_early``,
    ``log_tensorflow_folder``, ``create_symlink`` and ``register_callback`` are in
    comet_ml 3.49's Experiment; here each was an AttributeError, and the trial failed."""
    comet_ml = comet_ml_here

    def train(experiment: comet_ml.CometExperiment) -> None:
        assert isinstance(experiment, (comet_ml.ExperimentBase, comet_ml.CometExperiment))
        logs = tmp_path / "tb" / "train"
        logs.mkdir(parents=True)
        (logs / "events.out.tfevents.1").write_bytes(b"\x00tb")
        assert len(experiment.log_tensorflow_folder(str(tmp_path / "tb") + os.sep)) == 1
        experiment.create_symlink("other-project")
        experiment.register_callback(print)
        experiment.unregister_callback(print)
        assert experiment.stop_early(epoch=3) is False
        experiment.log_metric("loss", 0.5)

    opt = comet_ml.Optimizer({"algorithm": "random", "spec": {"metric": "loss", "maxCombo": 1},
                              "parameters": {"x": {"type": "float", "min": 0, "max": 1}}},
                             verbose=0, store=store)
    for experiment in opt.get_experiments():
        train(experiment)
    [result] = opt.experiments()
    assert result["status"] == "completed" and result["score"] == 0.5
    assert "create_symlink() does nothing offline" in capfd.readouterr().err
