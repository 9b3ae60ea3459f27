"""Comet's Experiment API offline (issue 9): every call a training script makes works.

Each test failed on main before issue 9 with AttributeError or TypeError.
"""

from __future__ import annotations

import collections.abc
import io
import itertools
import json
import os
import pathlib
import struct
import zlib

import numpy as np
import pytest

from comet_optimize import Experiment, Optimizer, OptimizerException, encoding
from comet_optimize.store import FileStore
from tests.conftest import stored_events

SPACE = {"x": [1, 2, 3, 4]}


@pytest.fixture(autouse=True)
def assets_folder(tmp_path, monkeypatch) -> str:
    """Where a PostgreSQL search keeps its files on this machine (never the real home)."""
    folder = str(tmp_path / "pg-assets")
    monkeypatch.setenv("COMET_OPTIMIZE_ASSETS", folder)
    return folder


def search(store, metric="loss", **spec):
    return Optimizer({"algorithm": "grid", "spec": {"metric": metric, **spec},
                      "parameters": SPACE}, verbose=0, store=store)


def recorded(opt, count=1):
    return next(e for e in opt.experiments() if e["count"] == count)


def end_events(store, opt):
    return [e for e in stored_events(store, opt.id) if e["type"] in ("end", "update")]


def test_name_tags_text_and_dataset_hash_reach_the_journal(store):
    opt = search(store)
    experiment = opt.next()
    experiment.set_name("first run")
    assert experiment.add_tag("baseline") is True
    experiment.add_tags(["numpy", "baseline"])
    experiment.log_text("a note", step=3, metadata={"who": "me"})
    digest = experiment.log_dataset_hash(np.arange(10))
    assert experiment.get_name() == "first run"
    assert experiment.get_tags() == ["baseline", "numpy"]
    experiment.log_metric("loss", 1.0)
    experiment.end()
    [event] = end_events(store, opt)
    assert event["name"] == "first run" and event["tags"] == ["baseline", "numpy"]
    assert event["texts"] == [{"text": "a note", "step": 3, "metadata": {"who": "me"}}]
    assert event["dataset_hash"] == digest
    row = recorded(opt)
    assert row["name"] == "first run" and row["tags"] == ["baseline", "numpy"]


def test_numbers_as_names_are_their_text_as_in_comet(store):
    """A real Comet script names each experiment by its parameter:
    ``experiment.set_name(batch_size)``, an int; that raised, and the script died."""
    opt = search(store)
    experiment = opt.next()
    experiment.set_name(32)
    experiment.add_tag(np.int64(7))
    experiment.log_parameter(3, "three")
    experiment.log_metric("loss", 1.0)
    experiment.end()
    assert experiment.get_name() == "32"
    row = recorded(opt)
    assert row["name"] == "32" and row["tags"] == ["7"]
    with pytest.raises(OptimizerException, match="name must be a string"):
        opt.next().set_name(("not", "a", "name"))


def test_every_experiment_has_a_name_of_its_own_as_in_comet(store):
    """Scripts save their models as ``f"{exp.name}.joblib"``: with no name set, Comet
    names each experiment, and ours were all None (one file for the whole search)."""
    opt = search(store)
    first, second = opt.next(), opt.next()
    assert first.name == first.get_name() and first.name.startswith("experiment-1-")
    assert second.name != first.name and "None" not in second.name
    second.name = "set by assignment"  # Comet's plain attribute
    for experiment in (first, second):
        experiment.log_metric("loss", 1.0)
        experiment.end()
    names = {row["count"]: row.get("name") for row in opt.experiments()}
    assert names == {1: None, 2: "set by assignment"}  # only a name the script set is recorded


def test_tags_logged_after_the_end_are_an_update(store):
    opt = search(store)
    experiment = opt.next()
    experiment.log_metric("loss", 1.0)
    experiment.end()
    experiment.add_tag("late")
    assert recorded(opt)["tags"] == ["late"]
    assert [e["type"] for e in end_events(store, opt)] == ["end", "update"]


def test_context_prefixes_as_comet_and_include_context_bypasses_them(store):
    opt = search(store)
    experiment = opt.next()
    with experiment.train():
        experiment.log_metric("loss", 0.5, step=1)
        experiment.log_metric("raw", 1, include_context=False)
        assert experiment.context == "train"
    with experiment.validate():
        experiment.log_metrics({"accuracy": 0.9})
    with experiment.test():
        experiment.log_metric("accuracy", 0.8)
    assert experiment.context is None
    experiment.end()
    assert sorted(recorded(opt)["metrics"]) == ["raw", "test_accuracy", "train_loss",
                                               "validate_accuracy"]
    assert experiment.get_metric("train_loss") == 0.5


def test_objective_logged_only_inside_one_context_still_counts(store):
    opt = search(store)
    experiment = opt.next()
    with experiment.train():
        experiment.log_metric("loss", 0.5)
        experiment.log_metric("loss", 0.25)
    experiment.end()
    assert recorded(opt)["status"] == "completed" and recorded(opt)["score"] == 0.25


def test_the_exact_name_wins_over_a_context(store):
    opt = search(store)
    experiment = opt.next()
    with experiment.train():
        experiment.log_metric("loss", 0.1)
    experiment.log_metric("loss", 0.7)
    experiment.end()
    assert recorded(opt)["score"] == 0.7


def test_objective_in_two_contexts_is_ambiguous_and_says_which_name_to_use(store, capfd):
    opt = search(store)
    experiment = opt.next()
    with experiment.train():
        experiment.log_metric("loss", 0.1)
    with experiment.validate():
        experiment.log_metric("loss", 0.2)
    experiment.end()
    assert recorded(opt)["status"] == "aborted"
    assert "set spec.metric to one of their prefixed names" in capfd.readouterr().err


def test_an_objective_logged_to_a_standalone_experiment_is_named_in_the_warning(store,
                                                                             capfd):
    """A script that makes its own ``Experiment()`` inside the loop and logs its score
    there got "it logged no metric" and nothing that pointed at the other handle."""
    Experiment().log_metric("loss", 0.5)  # before the search's experiment: not the cause
    opt = search(store, maxCombo=2)
    first = opt.next()
    first.end()
    assert "standalone" not in capfd.readouterr().err
    second = opt.next()
    mine = Experiment(project_name="p")
    mine.log_metric("loss", 0.25)
    mine.end()
    second.end()
    assert recorded(opt, 2)["status"] == "aborted"
    assert ("ended without logging the metric 'loss' (it logged no metric); a standalone "
            "Experiment() of this process logged it instead") in capfd.readouterr().err


def test_a_prefixed_spec_metric_counts_its_context(store):
    opt = search(store, metric="validate_loss")
    experiment = opt.next()
    with experiment.train():
        experiment.log_metric("loss", 0.1)
    with experiment.validate():
        experiment.log_metric("loss", 0.3)
    experiment.end()
    assert recorded(opt)["score"] == 0.3


def test_set_step_and_set_epoch_are_defaults_and_timestamp_is_kept(store):
    opt = search(store)
    experiment = opt.next()
    experiment.set_step(7)
    experiment.set_epoch(2)
    experiment.log_metric("loss", 1.0, timestamp=1700000000.5)
    experiment.log_metric("acc", 0.5, step=9)
    experiment.log_metric("other", 0.5)
    experiment.end()
    metrics = recorded(opt)["metrics"]
    assert metrics["loss"] == {"count": 1, "last": 1.0, "step": 7, "epoch": 2,
                               "timestamp": 1700000000.5}
    assert metrics["acc"]["step"] == 9 and metrics["other"]["step"] == 9  # a step moves it


def test_an_epoch_may_be_a_fraction_as_trainers_log_it(store, capfd):
    """Hugging Face's Trainer logs to Comet at ``epoch=state.epoch`` (0.33, 0.67...):
    the first such call raised, and the training died. A bad epoch is left out, not the
    value it came with."""
    opt = search(store)
    experiment = opt.next()
    experiment.log_metric("loss", 2.0, step=1, epoch=0.33)
    experiment.set_epoch(np.float32(1.5))
    experiment.log_metric("loss", 1.0, step=2)
    for bad in ("one", float("nan"), True):
        experiment.log_metric("loss", 0.5, epoch=bad)
    experiment.end()
    loss = recorded(opt)["metrics"]["loss"]
    assert (loss["last"], loss["epoch"], recorded(opt)["score"]) == (0.5, 1.5, 0.5)
    err = capfd.readouterr().err
    assert err.count("metric 'loss': epoch must be a number") == 1  # once per name
    assert "the value was recorded without it" in err


def test_hostile_numbers_as_names_epochs_and_flags_are_one_sentence(file_store, capfd):
    """Each raised a bare ValueError or OverflowError from Python itself."""
    from fractions import Fraction

    experiment = search(file_store).next()
    with pytest.raises(OptimizerException, match="disabled must be True or False"):
        experiment.disabled = np.array([1, 2])
    experiment.set_name(10 ** 5000)
    experiment.log_metric("loss", 1.0, epoch=Fraction(10 ** 400, 3))
    err = capfd.readouterr().err
    assert "too long to be a name, so it was not recorded" in err
    assert "epoch must be a number" in err
    assert experiment.get_metric("loss") == 1.0


def test_log_parameters_takes_a_settings_objects_public_attributes(file_store):
    """A public search script logs its own settings holder (``args = Dict2Obj(config)``)
    with Comet: it raised 'expected a dict' and failed the trial."""

    class Dict2Obj:
        kind = "class attribute, not the object's"  # still a setting, as in Comet

        def __init__(self, settings):
            for key, value in settings.items():
                setattr(self, key, value)

        def describe(self):
            return "a method"

    opt = search(file_store)
    experiment = opt.next()
    settings = Dict2Obj({"lr": 0.01, "task": "tcam", "_cache": {}})
    settings.callback = print
    experiment.log_parameters(settings, prefix="args")
    assert experiment.logged_parameters == {  # its class's values too, as Comet's dir()
        "args_lr": 0.01, "args_task": "tcam", "args_kind": "class attribute, not the object's"}
    class Config:  # a class of settings, given itself (review, round 2)
        lr = 0.02
        layers = 3

        def method(self):
            return "not a setting"

    experiment.log_parameters(Config)
    assert experiment.logged_parameters == {
        "args_lr": 0.01, "args_task": "tcam", "args_kind": "class attribute, not the object's",
        "lr": 0.02, "layers": 3}
    for not_settings in (5, "lr=0.1", print, os):
        with pytest.raises(OptimizerException, match="log_parameters: expected a dict"):
            experiment.log_parameters(not_settings)
    with pytest.raises(OptimizerException, match="log_metrics: expected a dict"):
        experiment.log_metrics(settings)  # only parameters come as a settings object
    experiment.log_metric("loss", 1.0)
    experiment.end()
    assert recorded(opt)["status"] == "completed"


def test_log_parameters_with_step_and_get_parameter(store):
    opt = search(store)
    experiment = opt.next()
    experiment.log_parameters({"epochs": 3}, step=1)
    assert experiment.get_parameter("epochs") == 3
    assert experiment.get_parameter("x") == 1
    with pytest.raises(KeyError):
        experiment.get_metric("never")


def test_the_plural_log_calls_take_a_parsers_namespace_and_refuse_the_rest_in_one_sentence(
        file_store):
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    opt = search(file_store)
    experiment = opt.next()
    experiment.log_parameters(parser.parse_args([]))  # as scripts pass their arguments
    experiment.log_parameters(None)  # nothing
    experiment.add_tags("baseline")  # one tag, not one per character
    assert experiment.get_parameter("lr") == 0.1
    assert experiment.get_tags() == ["baseline"]
    for call, said in [(lambda: experiment.log_metrics("loss"), "log_metrics: expected a dict"),
                       (lambda: experiment.log_parameters(5), "log_parameters: expected a dict"),
                       (lambda: experiment.log_others([1]), "log_others: expected a dict"),
                       (lambda: experiment.add_tags(5), "add_tags: tags must be a list"),
                       (lambda: experiment.log_notebook(None), "log_notebook: filename must be")]:
        with pytest.raises(OptimizerException, match=said):
            call()
    experiment.log_metric("loss", 1.0)
    experiment.end()
    assert recorded(opt)["status"] == "completed"


def test_optimizer_data_that_names_no_assignment_is_refused_and_records_nothing(store):
    opt = search(store)
    data = opt.next_data()
    for altered, said in [({**data, "count": 99}, "names experiment #99"),
                          ({**data, "count": -1}, "names experiment #-1"),
                          ({**data, "experiment_key": "f" * 32}, "with another experiment key")]:
        with pytest.raises(OptimizerException, match=said):
            Experiment(optimizer_data=altered)
    # without its key, the assignment's own is taken
    handle = Experiment(optimizer_data={k: v for k, v in data.items() if k != "experiment_key"})
    assert handle.get_key() == data["experiment_key"]
    handle.log_metric("loss", 0.5)
    handle.end()
    status = opt.status()
    assert (status["completed"], status["damage"]) == (1, [])
    assert [e["type"] for e in end_events(store, opt)] == ["end"]


def test_optimizer_end_of_something_else_is_one_sentence(file_store):
    opt = search(file_store)
    for wrong in [None, "1", 5]:
        with pytest.raises(OptimizerException, match="Optimizer.end.. takes an Experiment"):
            opt.end(wrong)


def test_a_formatted_loss_and_a_one_number_array_are_numbers(file_store, capfd, monkeypatch):
    monkeypatch.setattr(encoding._text_warnings, "said", set())  # once per process: afresh
    opt = Optimizer({"algorithm": "grid", "spec": {"metric": "loss", "maxCombo": 6},
                     "parameters": {"x": list(range(6))}}, verbose=0, store=file_store)
    try:  # torch is not in the test extra: its tensor where it is installed
        import torch

        one_number = torch.tensor([[0.75]])
    except ImportError:
        one_number = np.full((1, 1, 1), 0.75)
    values = [f"{0.123456:.4f}", " 1e-3 ", np.array([0.5]), np.array([[0.25]]),
              one_number, "not a loss"]
    for value in values:
        experiment = opt.next()
        experiment.log_metric("loss", value)
        experiment.end()
    scores = [e["score"] for e in sorted(opt.experiments(), key=lambda e: e["count"])]
    assert scores == [0.1235, 0.001, 0.5, 0.25, 0.75, None]
    assert "'not a loss' is not a number" in capfd.readouterr().err
    standalone = Experiment()  # several numbers are no one number: kept as text, as Comet
    standalone.log_metric("loss", np.array([1.0, 2.0]))
    assert standalone.get_metric("loss") == "[1. 2.]"
    assert "a ndarray is not one number; recorded as its text" in capfd.readouterr().err


def test_key_url_and_optimizer(store, assets_folder):
    opt = search(store)
    experiment = opt.next()
    assert experiment.get_key() == experiment.id
    assert experiment.url.startswith("file://") and os.path.isdir(experiment.url[7:])
    if store.startswith("postgres"):  # rows on the server, files on the worker's machine
        assert experiment.url[7:] == os.path.join(assets_folder, opt.id, experiment.id)
    else:
        assert experiment.url[7:] == os.path.join(FileStore(store).folder(opt.id), "assets",
                                                  experiment.id)
    assert experiment.optimizer["optimizer"] is opt and experiment.optimizer["count"] == 1
    assert experiment.optimizer["id"] == opt.id


def asset_path(store, opt, experiment, asset):
    return os.path.join(FileStore(store).folder(opt.id), "assets", experiment.id, asset["path"])


def test_assets_are_copied_under_the_experiments_folder(file_store, tmp_path):
    store = file_store
    opt = search(store)
    experiment = opt.next()
    source = tmp_path / "weights.bin"
    source.write_bytes(b"\x00\x01" * 50)
    entry = experiment.log_asset(str(source), metadata={"epoch": 3})
    again = experiment.log_asset(str(source))  # not overwritten: both kept
    data = experiment.log_asset_data({"a": 1}, name="result.json")
    with open(source, "rb") as handle:
        from_object = experiment.log_asset(handle, file_name="copy.bin")
    assert open(asset_path(store, opt, experiment, entry), "rb").read() == source.read_bytes()
    assert entry["path"] != again["path"]
    assert json.load(open(asset_path(store, opt, experiment, data))) == {"a": 1}
    assert from_object["size"] == 100
    experiment.log_metric("loss", 1.0)
    experiment.end()
    assets = recorded(opt)["assets"]
    assert [a["fileName"] for a in assets] == ["weights.bin", "weights.bin", "result.json",
                                             "copy.bin"]
    assert assets[0]["metadata"] == {"epoch": 3} and assets[0]["size"] == 100


def test_log_model_copies_a_file_or_a_folder(file_store, tmp_path):
    opt = search(file_store)
    experiment = opt.next()
    folder = tmp_path / "saved"
    (folder / "variables").mkdir(parents=True)
    (folder / "model.json").write_text("{}")
    (folder / "variables" / "v.bin").write_bytes(b"1234")
    entries = experiment.log_model("net", str(folder))
    assert sorted(e["fileName"] for e in entries) == ["net/saved/model.json",
                                                     "net/saved/variables/v.bin"]
    for entry in entries:
        assert os.path.isfile(asset_path(file_store, opt, experiment, entry))
        assert entry["type"] == "model" and entry["model"] == "net"


def test_an_asset_over_the_size_limit_is_one_warning_and_the_script_goes_on(
        file_store, monkeypatch, capfd, tmp_path):
    monkeypatch.setenv("COMET_OPTIMIZE_MAX_ASSET_MB", "0.001")
    experiment = search(file_store).next()
    assert experiment.log_asset_data(b"x" * 2000, name="big.bin") is None
    assert experiment.log_asset(str(tmp_path / "never-written.pt")) is None
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "big.bin").write_bytes(b"x" * 2000)
    (tmp_path / "run" / "small.txt").write_bytes(b"x" * 20)
    kept = experiment.log_asset_folder(str(tmp_path / "run"))
    err = capfd.readouterr().err
    assert "'big.bin' is 2000 bytes, over the 1000 bytes limit per file, so it was not " \
           "stored" in err
    assert "never-written.pt' is not a file, so nothing was stored" in err
    assert [e["fileName"] for e in kept] == ["small.txt"]  # the rest of the folder is kept
    assert [e["fileName"] for e in experiment.assets] == ["small.txt"]


def test_long_deep_or_escaping_asset_names_stay_inside_the_experiments_folder(file_store,
                                                                            tmp_path):
    opt = search(file_store)
    experiment = opt.next()
    names = ["x" * 5000, "y" * 5000, "a/" * 300 + "f.bin", "../../../../" + str(tmp_path / "out"),
             "z" * 300 + ".tar.gz"]
    entries = [experiment.log_asset_data(b"data", name=name) for name in names]
    folder = os.path.realpath(os.path.join(FileStore(file_store).folder(opt.id), "assets",
                                           experiment.id))
    paths = [os.path.realpath(asset_path(file_store, opt, experiment, e)) for e in entries]
    assert all(p.startswith(folder + os.sep) and os.path.isfile(p) for p in paths)
    assert len(set(paths)) == len(names)  # shortened names stay apart
    assert entries[4]["path"].endswith(".gz")  # the extension survives the shortening
    assert not (tmp_path / "out").exists()
    assert [e["fileName"] for e in entries] == names  # the name the script gave is kept


def test_a_huge_value_or_name_is_one_warning_and_the_script_goes_on(store, capfd,
                                                                   monkeypatch):
    """As in Comet's SDK, a logging call never ends the script for what it logs: each of
    these raised, and a script that logged its model's summary died at every trial."""
    monkeypatch.setattr(encoding._text_warnings, "said", set())  # once per process: afresh
    opt = search(store)
    experiment = opt.next()
    for _ in range(3):  # a loop that logs the same thing at every step warns once
        experiment.log_other("big", "x" * 100_000)
        experiment.log_parameter("weights", np.zeros(1_000_000))
        experiment.log_parameter("nested", {"a": ["y" * 1000] * 100})
        experiment.log_metric("note", "z" * 100_000)
        experiment.log_text("t" * 100_000)
        experiment.log_metric("n" * 2000, 1.0)
        experiment.log_metrics({"m" * 2000: 1.0, "acc": 0.5})  # the good one is kept
    err = capfd.readouterr().err
    for what in ("other 'big'", "parameter 'weights'", "parameter 'nested'", "metric 'note'",
                 "log_text"):
        assert sum(err.count(f"{what}: the {says}") for says in
                   ("value is", "text is", "value holds")) == 1
    assert err.count("over the 64 KiB kept") == 5 and err.count("so it was not recorded") == 7
    assert err.count("is 2000 characters long, over the 1000 allowed") == 2
    from PIL import Image  # a .size that is a tuple, not an array's element count

    experiment.log_parameter("picture", Image.new("RGB", (2, 2)))  # its text, as Comet
    assert "parameter 'picture': a Image is not a number" in capfd.readouterr().err
    experiment.log_other("small", "x" * 1000)
    experiment.log_metric("loss", 0.25)
    experiment.end()
    done = recorded(opt)
    assert done["status"] == "completed" and done["score"] == 0.25
    assert "big" not in done.get("others", {}) and done["metrics"]["acc"]["last"] == 0.5
    assert done["logged_parameters"]["picture"].startswith("<PIL.Image.Image image mode=RGB")
    assert max(len(json.dumps(e)) for e in stored_events(store, opt.id)) < 20_000


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_log_image_takes_paths_bytes_arrays_and_pil(file_store, tmp_path, capfd):
    opt = search(file_store)
    experiment = opt.next()
    grey = experiment.log_image(np.linspace(0, 1, 12).reshape(3, 4), name="grey")
    rgb = experiment.log_image(np.zeros((5, 6, 3), dtype=np.uint8), name="rgb")
    first = open(asset_path(file_store, opt, experiment, grey), "rb").read()
    assert png_size(first) == (4, 3)
    # decode the pixels back: a filter byte then 4 grey values per row
    body = first[first.index(b"IDAT") + 4:first.index(b"IEND") - 8]
    raw = zlib.decompress(body)
    assert list(raw[:5]) == [0, 0, 23, 46, 70]
    assert png_size(open(asset_path(file_store, opt, experiment, rgb), "rb").read()) == (6, 5)
    path = tmp_path / "picture.png"
    path.write_bytes(first)
    assert experiment.log_image(str(path))["fileName"] == "picture.png"
    assert experiment.log_image(first, name="raw.png")["size"] == len(first)
    from PIL import Image

    entry = experiment.log_image(Image.new("RGB", (7, 2)), name="pil")
    assert png_size(open(asset_path(file_store, opt, experiment, entry), "rb").read()) == (7, 2)
    assert experiment.log_image(np.zeros((2, 2, 2, 2))) is None  # a batch: one warning
    assert "is not an image" in capfd.readouterr().err


def test_confusion_matrix_from_labels_one_hot_or_a_matrix(file_store):
    opt = search(file_store)
    experiment = opt.next()
    entry = experiment.log_confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2],
                                            labels=["a", "b", "c"])
    document = json.load(open(asset_path(file_store, opt, experiment, entry)))
    assert document["matrix"] == [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
    assert document["labels"] == ["a", "b", "c"]
    one_hot = np.eye(2)[[0, 1, 1]]
    entry = experiment.log_confusion_matrix(one_hot, np.eye(2)[[0, 0, 1]])
    document = json.load(open(asset_path(file_store, opt, experiment, entry)))
    assert document["matrix"] == [[1, 0], [1, 1]]
    entry = experiment.log_confusion_matrix(matrix=np.array([[3, 1], [0, 2]]))
    assert json.load(open(asset_path(file_store, opt, experiment, entry)))["matrix"] == \
        [[3, 1], [0, 2]]
    with pytest.raises(OptimizerException, match="needs matrix="):
        experiment.log_confusion_matrix()


def test_a_confusion_matrix_with_one_side_of_labels_is_a_warning_not_the_trials_end(
        file_store, capfd):
    """``y_pred=`` (sklearn's name) lands in **kwargs, as in Comet, which logs an error and
    goes on: the call raised and ended the trial after its training."""
    opt = search(file_store)
    experiment = opt.next()
    assert experiment.log_confusion_matrix(y_true=[0, 1, 1], y_pred=[0, 1, 0], step=1) is None
    assert ("log_confusion_matrix: y_true= without y_predicted= (it was given y_pred=, which "
            "log_confusion_matrix does not take), so nothing was stored") in capfd.readouterr().err
    experiment.log_metric("loss", 1.0)
    experiment.end()
    assert recorded(opt)["status"] == "completed" and not experiment.assets
    second = opt.next()
    assert second.log_confusion_matrix(y_predicted=[0, 1]) is None
    assert "y_predicted= without y_true=, so nothing" in capfd.readouterr().err


def test_comets_confusion_matrix_object_is_logged(file_store, capfd):
    """Scripts import ``comet_ml.ConfusionMatrix``, count with it and log it: the import
    failed, and the script with it."""
    from comet_optimize._compat.comet_ml import ConfusionMatrix

    experiment = search(file_store).next()
    matrix = ConfusionMatrix(labels=["cat", "dog"], title="pets")
    assert matrix.need_init()
    matrix.compute_matrix([0, 1, 1], np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]))
    entry = experiment.log_confusion_matrix(matrix=matrix)
    document = json.load(open(asset_path(file_store, experiment._optimizer, experiment,
                                         entry)))
    assert (document["matrix"], document["labels"], document["title"]) == (
        [[1, 0], [1, 1]], ["cat", "dog"], "pets")
    assert experiment.log_confusion_matrix(matrix=ConfusionMatrix()) is None
    assert "no counts yet" in capfd.readouterr().err
    made = experiment.create_confusion_matrix(y_true=[1, 0], y_predicted=[1, 1])
    entry = experiment.log_confusion_matrix(matrix=made, file_name="made.json")
    assert json.load(open(asset_path(file_store, experiment._optimizer, experiment,
                                     entry)))["matrix"] == [[0, 1], [0, 1]]


def test_curve_table_html_code_and_figure_are_files(file_store, tmp_path):
    opt = search(file_store)
    experiment = opt.next()
    curve = experiment.log_curve("roc", [0, 0.5, 1], [0, 0.8, 1])
    assert json.load(open(asset_path(file_store, opt, experiment, curve)))["y"] == [0, 0.8, 1]
    table = experiment.log_table("scores.csv", [[1, 2], [3, 4]], headers=["a", "b"])
    assert open(asset_path(file_store, opt, experiment, table)).read() == "a,b\n1,2\n3,4\n"
    experiment.log_html("<p>one</p>")
    experiment.log_html("<p>two</p>")
    [html] = [a for a in experiment.assets if a["type"] == "html"]
    assert open(asset_path(file_store, opt, experiment, html)).read() == "<p>one</p><p>two</p>"
    experiment.log_code()  # no argument: this file
    experiment.log_code(code="print(1)", code_name="snippet.py")
    code = [a["fileName"] for a in experiment.assets if a["type"] == "source_code"]
    assert code == [os.path.basename(__file__), "snippet.py"]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.plot([1, 2], [3, 4])
    figure = experiment.log_figure("line")
    assert open(asset_path(file_store, opt, experiment, figure)).read().lstrip().startswith("<")
    plt.close("all")


def test_no_ops_warn_once_and_server_only_methods_are_refused(store, capfd, monkeypatch):
    from comet_optimize import unsupported

    monkeypatch.setattr(unsupported, "_warned", set())  # once per process: start afresh
    experiment = search(store).next()
    experiment.display()
    experiment.display(tab="charts")
    experiment.set_pip_packages()
    err = capfd.readouterr().err
    assert err.count("Experiment.display() does nothing offline") == 1
    assert "Experiment.set_pip_packages() does nothing offline" in err
    with pytest.raises(OptimizerException, match="log_artifact.*not available offline"):
        experiment.log_artifact(object())
    assert experiment.flush() is True


def test_a_misspelled_method_is_still_an_attribute_error(store):
    experiment = search(store).next()
    with pytest.raises(AttributeError):
        experiment.log_metrc("loss", 1)
    assert not hasattr(Experiment, "__getattr__")


def test_a_standalone_experiment_keeps_its_files_in_its_offline_directory(tmp_path):
    experiment = Experiment(offline_directory=str(tmp_path / "offline"))
    experiment.set_name("alone")
    entry = experiment.log_asset_data("text", name="note.txt")
    assert os.path.isfile(tmp_path / "offline" / experiment.id / entry["path"])
    experiment.end()


def test_assets_survive_a_json_round_trip_into_another_handle(file_store):
    opt = search(file_store)
    data = json.loads(json.dumps(opt.next_data()))
    experiment = Experiment(optimizer_data=data)
    entry = experiment.log_asset_data(io.BytesIO(b"abc").read(), name="b.bin")
    experiment.log_metric("loss", 1)
    experiment.end()
    row = recorded(opt, data["count"])
    assert row["assets"] == [entry] and row["status"] == "completed"


def test_log_metrics_takes_comets_positional_order(store):
    opt = search(store)
    experiment = opt.next()
    experiment.log_metrics({"loss": 0.5}, "val", 4, 2)  # dic, prefix, step, epoch
    assert experiment.metrics["val_loss"] == {"count": 1, "last": 0.5, "step": 4, "epoch": 2}


def test_mappings_and_sequences_of_other_classes_are_recorded_as_such(store):
    """Hydra users log their ``DictConfig`` (a Mapping, not a dict) and its ``ListConfig``
    (a Sequence); both raised. A sequence too long to keep item by item (``range(10**12)``)
    is its text at once, never expanded."""
    import collections.abc

    class Config(collections.abc.Mapping):  # what omegaconf's DictConfig is to a logger
        def __init__(self, items):
            self._items = dict(items)

        def __getitem__(self, key):
            return self._items[key]

        def __iter__(self):
            return iter(self._items)

        def __len__(self):
            return len(self._items)

    class Layers(collections.abc.Sequence):  # ... and its ListConfig
        def __getitem__(self, index):
            return [64, 32][index]

        def __len__(self):
            return 2

    opt = search(store)
    experiment = opt.next()
    experiment.log_parameter("model", Config({"lr": 0.1, "layers": Layers()}))
    experiment.log_other("steps", range(10 ** 12))
    experiment.log_metric("loss", 0.5)
    experiment.end()
    done = recorded(opt)
    assert done["logged_parameters"]["model"] == {"lr": 0.1, "layers": [64, 32]}
    assert done["others"]["steps"] == "range(0, 1000000000000)"


def test_a_bad_step_time_or_name_never_keeps_the_end_from_being_written(store, capfd):
    """Each of these was stored as given and made ``end()`` raise ("Object of type int64
    is not JSON serializable", "Out of range float values"): the trial stayed running
    with its score logged."""
    opt = search(store)
    experiment = opt.next()
    experiment.log_metric("loss", 0.9, timestamp=float("nan"))
    experiment.curr_step = np.int64(5)  # Comet's attribute, set directly
    experiment.log_asset_data(b"x", name="a.bin", step=np.int64(3))
    experiment.log_remote_asset(pathlib.Path("/data/train.csv"), step=np.int64(3))
    experiment.log_remote_asset("s3://bucket/key", step=float("nan"),
                                remote_file_name=pathlib.Path("key"))
    experiment.curr_epoch = "three"  # refused: the epoch stays as it was
    experiment.log_text("note", step=1.5)  # the text is kept, without the step
    experiment.log_metric("loss", 0.5)
    experiment.end()
    done = recorded(opt)
    assert (done["status"], done["score"]) == ("completed", 0.5)
    assert [t["text"] for t in done["texts"]] == ["note"]
    assert experiment.curr_step == 5 and type(experiment.curr_step) is int
    assert {a["fileName"] for a in done["assets"]} == {"a.bin", "train.csv", "key"}
    err = capfd.readouterr().err
    assert "timestamp nan is not a number of seconds; the value was recorded without it" in err
    assert "the epoch must be a number, not 'three'; the epoch stays None" in err


def test_an_objects_text_never_becomes_a_score(store, capfd):
    """A meter whose text is its average rounded ("0.12") scored 0.12 for 0.123456."""

    class Meter:
        def __str__(self):
            return f"{0.123456:.2f}"

    opt = search(store)
    experiment = opt.next()
    experiment.log_metric("loss", Meter())
    experiment.end()
    done = recorded(opt)
    assert (done["status"], done["score"]) == ("aborted", None)
    assert done["metrics"]["loss"]["last"] == "0.12"


def test_the_same_odd_value_at_every_step_warns_once(file_store, capfd, tmp_path,
                                                     monkeypatch):
    opt = search(file_store)
    experiment = opt.next()
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "huge.pt").write_bytes(b"x" * 2000)
    monkeypatch.setenv("COMET_OPTIMIZE_MAX_ASSET_MB", "0.001")
    for _ in range(100):
        experiment.log_metric("loss", np.array([1.0, 2.0]))  # does not count: once
        experiment.log_metric("big", 10 ** 400)  # too large for a float: once
        experiment.log_metrics({f"m{i}": 1.0 for i in range(20)}, step="bad")
        experiment.log_asset_folder(str(tmp_path / "ck"))
        experiment.log_histogram_3d(eval("[" * 30 + "]" * 30))  # too deep
    err = capfd.readouterr().err
    assert err.count("does not count towards the score") == 1
    assert err.count("is too large for a float") == 1
    assert err.count("log_metrics: step must be a whole number") == 1
    assert err.count("'huge.pt' is 2000 bytes") == 1
    assert err.count("nested more than 20 levels deep") == 1
    for index in range(40):  # names that change every step: a bounded number of lines
        experiment.log_asset(str(tmp_path / f"missing-{index}.pt"))
    assert capfd.readouterr().err.count("COMET WARNING") <= 20


def test_data_a_call_cannot_use_is_one_warning_not_an_exception(file_store, capfd):
    experiment = search(file_store).next()
    for call in (lambda: experiment.log_asset_folder("checkpoints-never-written/"),
                 lambda: experiment.log_code(folder="src-missing"),
                 lambda: experiment.log_image(np.zeros((8, 4, 4, 3))),
                 lambda: experiment.log_curve("pr", [0, 1, 2], [1, 0]),
                 lambda: experiment.log_confusion_matrix([0, 1, 1], [0, 1]),
                 lambda: experiment.log_confusion_matrix(matrix=np.array([1, 2])),
                 lambda: experiment.log_table("t.csv", 3.5)):
        assert call() is None
    assert experiment.log_model("m", "model-never-saved.pt") == []
    assert experiment.add_tag("t" * 2000) is False
    with experiment.context_manager("c" * 2000):
        experiment.log_metric("loss", 0.5)  # the context around it is kept: none
    assert experiment.get_metric("loss") == 0.5
    err = capfd.readouterr().err
    for said in ("'checkpoints-never-written/' is not a folder", "'src-missing' is not a folder",
                 "an array of shape (8, 4, 4, 3) is not an image", "lists of equal length",
                 "y_true has 3 items, y_predicted 2", "'t.csv': tabular_data must be rows",
                 "'model-never-saved.pt' is not a file", "tag name 'tttt",
                 "context name 'cccc"):
        assert said in err, said


def test_a_hydra_config_with_a_missing_value_is_its_text(file_store, capfd):
    """Reading OmegaConf's "???" raises MissingMandatoryValue: the item-by-item
    conversion let it out of log_parameters."""
    import collections.abc

    class Missing(Exception):
        pass

    class Config(collections.abc.Mapping):
        def __getitem__(self, key):
            raise Missing(key)

        def __iter__(self):
            return iter(["data_dir"])

        def __len__(self):
            return 1

        def __str__(self):
            return "{'data_dir': '???'}"

    experiment = search(file_store).next()
    experiment.log_parameters({"cfg": Config()})
    assert experiment._plain_parameters["cfg"] == "{'data_dir': '???'}"


def test_a_metric_name_no_experiment_could_log_is_refused_in_the_config():
    with pytest.raises(OptimizerException, match="spec.metric: 2000 characters long"):
        Optimizer({"algorithm": "random", "parameters": {"x": [1, 2]},
                   "spec": {"metric": "m" * 2000}}, verbose=0, store=None)


@pytest.mark.parametrize("bad", ["abc", "nan", "-1", "1e999"])
def test_a_bad_asset_size_limit_in_the_environment_is_a_warning_and_the_default(
        file_store, monkeypatch, capfd, bad):
    """"abc" raised at the first file logged, "nan" and "1e999" a ValueError or an
    OverflowError from int(), and "-1" refused every file."""
    from comet_optimize import settings

    monkeypatch.setattr(settings, "_warned", set())
    monkeypatch.setenv("COMET_OPTIMIZE_MAX_ASSET_MB", bad)
    experiment = search(file_store).next()
    assert experiment.log_asset_data(b"data", name="a.bin")["size"] == 4
    assert experiment.log_asset_data(b"data", name="b.bin")["size"] == 4
    err = capfd.readouterr().err
    assert err.count(f"COMET_OPTIMIZE_MAX_ASSET_MB={bad!r} is not a positive number of "
                     f"megabytes; using 100") == 1


class _RaisingText:
    def __str__(self):
        raise RuntimeError("no text")

    def __repr__(self):
        raise RuntimeError("no repr")


class _RaisingNumber:
    def __float__(self):
        raise RuntimeError("no number")

    def __str__(self):
        return "a number that will not say"


class _RaisingLength(list):
    def __len__(self):
        raise RuntimeError("no length")


def test_objects_whose_conversions_raise_are_warnings_not_the_end_of_the_trial(store, capfd):
    """A ``__float__``, ``__str__``, ``__repr__`` or ``__len__`` of the script's own that
    raised went through our conversions and ended the script: a RuntimeError out of
    log_metric or log_text, or out of the message meant to name the culprit."""
    opt = search(store, maxCombo=1)
    experiment = opt.next()
    experiment.log_metric("odd", _RaisingNumber())
    experiment.log_text(_RaisingText())
    experiment.log_parameter("shape", _RaisingLength([1, 2]))
    experiment.log_other("thing", _RaisingText())
    with pytest.raises(OptimizerException, match=r"metric name must be a string, not "
                                                 r"_RaisingText \(<_RaisingText object>\)"):
        experiment.log_metric(_RaisingText(), 1.0)  # a misuse of the call: still raised
    experiment.log_metric("loss", 0.5)
    experiment.end()
    result = recorded(opt)
    assert result["status"] == "completed" and result["score"] == 0.5
    assert experiment.get_metric("odd") == "a number that will not say"
    assert ("log_text: the _RaisingText's text could not be made (RuntimeError('no text')), "
            "so it was not recorded") in capfd.readouterr().err


def test_tags_are_bounded_and_a_generator_of_them_is_not_read_to_its_end(store, capfd):
    """Each tag was looked up in a list (100,000 tags took minutes), and add_tags read a
    generator to its end (an endless one, until memory ran out)."""
    def endless():
        for number in itertools.count():
            if number > 5000:
                raise AssertionError("add_tags read past what it can keep")
            yield f"tag-{number}"

    opt = search(store, maxCombo=1)
    experiment = opt.next()
    experiment.add_tags(["tag-1", "tag-1"])
    assert experiment.add_tags(endless()) is True
    experiment.log_metric("loss", 0.5)
    experiment.end()
    assert len(experiment.get_tags()) == 1000 and len(set(experiment.get_tags())) == 1000
    second = search(store, maxCombo=1).next()
    second.add_tags(["a"] * 1001 + ["b"])  # repeats are no reason to stop reading a list
    assert second.get_tags() == ["a", "b"]
    assert "tags: over 1000 on one experiment" in capfd.readouterr().err
    assert recorded(opt)["status"] == "completed"


def test_a_huge_list_is_refused_before_it_is_converted(store, capfd):
    """A list of millions logged as a value was converted whole (seconds, and a copy of
    it in memory) before its size was refused."""
    import tracemalloc

    opt = search(store, maxCombo=1)
    experiment = opt.next()
    huge = list(range(3_000_000))
    tracemalloc.start()
    try:
        experiment.log_other("everything", huge)
        experiment.log_parameter("nested", [[0] * 1000 for _ in range(100)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000, peak
    with pytest.raises(KeyError):
        experiment.get_other("everything")
    err = capfd.readouterr().err
    assert "other 'everything': the value holds more than 32,768 items, over the 64 KiB" in err
    assert "parameter 'nested': the value holds more than 32,768 items" in err


def test_big_arrays_and_containers_inside_a_value_are_refused_or_shortened_unconverted(
        store, capfd):
    """An array inside a list or dict, or a container of another library (a deque), was
    converted or spelled out whole (seconds, and tens of megabytes) before being refused;
    a list that holds itself is said to be nested too deep, not too large."""
    import collections
    import tracemalloc

    opt = search(store, maxCombo=1)
    experiment = opt.next()
    weights = np.zeros(3_000_000)
    queue = collections.deque(range(3_000_000))
    itself: list = []
    itself.append(itself)
    tracemalloc.start()
    try:
        experiment.log_parameter("in a list", [weights])
        experiment.log_other("in a dict", {"w": weights})
        experiment.log_other("queue", queue)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000, peak
    experiment.log_parameter("itself", itself)
    experiment.log_metric("loss", 0.5)
    experiment.end()
    err = capfd.readouterr().err
    assert "parameter 'in a list': the value holds more than 32,768 items" in err
    assert "other 'in a dict': the value holds more than 32,768 items" in err
    assert experiment.get_other("queue").startswith("deque([0, 1, 2")
    assert "parameter 'itself': nested more than" in err
    assert recorded(opt)["status"] == "completed"


class _Proxy:
    """Like werkzeug's LocalProxy outside its context: every attribute raises."""

    def __getattr__(self, name):
        raise RuntimeError("working outside of the context")


class _Lazy:
    """Like Django's SimpleLazyObject whose set-up fails: even its __class__ raises."""

    @property
    def __class__(self):
        raise RuntimeError("settings are not configured")


class _HalfSetConfig(collections.abc.Mapping):
    """Like Hydra's DictConfig with a value nobody set ("???")."""

    def __getitem__(self, key):
        if key == "data_dir":
            raise LookupError("Missing mandatory value: data_dir")
        return {"lr": 0.1}[key]

    def __iter__(self):
        return iter(["lr", "data_dir"])

    def __len__(self):
        return 2


def test_proxies_half_set_configs_and_html_that_raise_are_warnings(store, capfd):
    """A proxy whose every attribute raises, a config mapping with an unset item given to
    log_parameters, and log_html / log_html_url / set_model_graph of an object whose
    ``__str__`` raises: each raised out of the call and ended the trial."""
    opt = search(store, maxCombo=1)
    experiment = opt.next()
    experiment.log_metric("proxy", _Proxy())
    experiment.log_parameter("proxy", _Proxy())
    experiment.log_other("proxy", _Proxy())
    for log in (experiment.log_metric, experiment.log_parameter, experiment.log_other):
        log("lazy", _Lazy())
    experiment.log_parameters(_HalfSetConfig())
    experiment.log_html(_RaisingText())
    experiment.log_html_url(_RaisingText())
    experiment.set_model_graph(_RaisingText())
    experiment.log_metric("loss", 0.5)
    experiment.end()
    result = recorded(opt)
    assert result["status"] == "completed" and result["score"] == 0.5
    assert result["logged_parameters"]["lr"] == 0.1
    assert "Missing mandatory value: data_dir" in result["logged_parameters"]["data_dir"]
    err = capfd.readouterr().err
    for call in ("log_html", "log_html_url", "set_model_graph"):
        assert f"{call}: the _RaisingText's text could not be made" in err, call


def test_a_framework_log_model_given_the_other_integrations_order_is_a_warning(
        file_store, capfd):
    """comet_ml.integration.sklearn.log_model takes (experiment, name, model) and the
    pytorch one (experiment, model, name): a public search passed sklearn's the pytorch
    order, the model as the name, and 'model name must be a string' failed its trial."""
    from sklearn.linear_model import LinearRegression

    from comet_optimize._compat.comet_ml.integration import sklearn as comet_sklearn

    opt = search(file_store)
    experiment = opt.next()
    model = LinearRegression().fit([[0], [1]], [0, 1])
    assert comet_sklearn.log_model(experiment, model, "lstmfcn") is None
    assert ("log_model: the model name must be a string, not LinearRegression "
            "(sklearn.log_model takes the experiment, the name, then the model; "
            "pytorch.log_model the model before the name), so nothing was stored"
            ) in capfd.readouterr().err
    comet_sklearn.log_model(experiment, "lstmfcn", model)  # the right order still works
    assert [a["path"] for a in experiment.assets] == ["model/lstmfcn/comet-sklearn-model.pkl"]
    experiment.log_metric("loss", 1.0)
    experiment.end()
    assert recorded(opt)["status"] == "completed"
