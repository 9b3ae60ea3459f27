"""The journal store: atomic creation, incremental reads, torn lines, locking."""

from __future__ import annotations

import gc
import json
import os
import re
import stat

import pytest

from comet_optimize import Optimizer, OptimizerException
from comet_optimize.events import assigned_keys, schema_of
from comet_optimize.store import FileStore, is_optimizer_id, new_optimizer_id, open_store
from comet_optimize.store.journal import Journal

CONFIG = {"algorithm": "random", "spec": {"maxCombo": 10},
          "parameters": {"x": {"type": "double", "min": 0, "max": 1}}}


def test_store_folders_are_private_and_config_is_complete(file_store):
    store = file_store
    opt = Optimizer(CONFIG, verbose=0, store=store)
    folder = os.path.join(store, opt.id)
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    with open(os.path.join(folder, "config.json")) as handle:
        stored = json.load(handle)
    assert stored["spec"]["retryLimit"] == 20
    assert isinstance(stored["spec"]["seed"], int)
    assert not [n for n in os.listdir(folder) if n.endswith(".tmp")]


def test_ids_are_32_lowercase_hex_and_validated_before_use_as_a_path(file_store):
    store = file_store
    assert is_optimizer_id(new_optimizer_id())
    for bad in ["../../etc", "ABCDEF" * 6, "a" * 31, "g" * 32, "", None, 12]:
        with pytest.raises(OptimizerException, match="invalid optimizer id"):
            FileStore(store).folder(bad)
    with pytest.raises(OptimizerException) as refused:  # repeated short, never whole
        Optimizer("a" * 5000, verbose=0, store=store)
    assert len(str(refused.value)) < 300


def test_a_store_that_is_a_file_is_one_sentence(tmp_path):
    a_file = tmp_path / "store"
    a_file.write_text("")
    config = {"algorithm": "random", "spec": {"maxCombo": 2},
              "parameters": {"x": {"type": "float", "min": 0, "max": 1}}}
    with pytest.raises(OptimizerException, match="it exists and is not a folder"):
        Optimizer(config, verbose=0, store=str(a_file))


def test_unknown_id_names_the_store_it_looked_in(store):
    with pytest.raises(OptimizerException, match=re.escape(f"not found in the store {store}")):
        Optimizer("0" * 32, verbose=0, store=store)


def test_reader_only_reads_what_is_new(tmp_path):
    path = str(tmp_path / "j.jsonl")
    writer, reader = Journal(path), Journal(path)
    with writer.locked():
        writer.append([{"type": "a"}, {"type": "b"}])
    assert [e["type"] for e in reader.read_new()] == ["a", "b"]
    assert reader.read_new() == []
    with writer.locked():
        writer.append([{"type": "c"}])
    assert [e["type"] for e in reader.read_new()] == ["c"]


def test_a_line_being_written_is_not_read_until_complete(tmp_path):
    path = str(tmp_path / "j.jsonl")
    with open(path, "wb") as handle:
        handle.write(b'{"type":"a"}\n{"type":"b"')
    reader = Journal(path)
    assert [e["type"] for e in reader.read_new()] == ["a"]
    with open(path, "ab") as handle:
        handle.write(b"}\n")
    assert [e["type"] for e in reader.read_new()] == ["b"]


def test_torn_last_line_loads_and_the_next_append_works(file_store):
    store = file_store
    opt = Optimizer(CONFIG, verbose=0, store=store)
    for _ in range(3):
        experiment = opt.next()
        experiment.log_metric("loss", 1.0)
        experiment.end()
    path = os.path.join(store, opt.id, "journal.jsonl")
    with open(path, "rb") as handle:
        data = handle.read()
    # A crash in the middle of writing one more event: half a line, no newline.
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[1]
    with open(path, "ab") as handle:
        handle.write(last[: len(last) // 2])

    resumed = Optimizer(opt.id, verbose=0, store=store)
    assert resumed.status()["completed"] == 3
    experiment = resumed.next()
    experiment.log_metric("loss", 0.5)
    experiment.end()

    again = Optimizer(opt.id, verbose=0, store=store)
    status = again.status()
    assert status["completed"] == 4
    assert status["best"]["score"] == 0.5
    lines = open(path, "rb").read().split(b"\n")
    assert lines[-1] == b""  # the file ends cleanly again


def test_every_append_is_a_whole_line_with_a_schema_version(file_store):
    store = file_store
    opt = Optimizer(CONFIG, verbose=0, store=store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
    with open(os.path.join(store, opt.id, "journal.jsonl")) as handle:
        events = [json.loads(line) for line in handle]
    # each with the oldest schema that has it: an end that starts the next reservation
    # needs version 3, a decision's reservations (one reserve event) version 4
    assert all(e["v"] == schema_of(e) and "type" in e for e in events)
    assert {e["v"] for e in events} == {1, 3, 4}
    assert sum(len(assigned_keys(e)) for e in events) == 10
    assert [e["type"] for e in events].count("end") == 10


def test_list_ids_finds_searches(store):
    first = Optimizer(CONFIG, verbose=0, store=store)
    second = Optimizer(CONFIG, verbose=0, store=store)
    assert set(open_store(store).list_ids()) == {first.id, second.id}


def test_unwritable_store_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OptimizerException, match="cannot write to the store"):
        Optimizer(CONFIG, verbose=0, store=str(blocker / "store"))


def test_a_corrupt_stored_config_is_an_error_not_a_silent_stop(file_store):
    store = file_store
    opt = Optimizer(CONFIG, verbose=0, store=store)
    with open(os.path.join(store, opt.id, "config.json"), "w") as handle:
        handle.write("{ not json")
    with pytest.raises(OptimizerException, match="cannot read the stored config"):
        Optimizer(opt.id, verbose=0, store=store)


def test_a_store_given_as_a_path_object_works_and_anything_else_is_one_sentence(tmp_path):
    config = {"algorithm": "random", "spec": {"maxCombo": 1},
              "parameters": {"x": {"type": "float", "min": 0, "max": 1}}}
    opt = Optimizer(config, verbose=0, store=tmp_path / "store")  # a pathlib.Path
    assert os.path.isdir(tmp_path / "store" / opt.id)
    assert Optimizer(opt.id, verbose=0, store=tmp_path / "store").id == opt.id
    for bad, said in [(123, "got int"), (b"/tmp/x", "got bytes"), (["a"], "got list"),
                      (str(tmp_path / "a\0b"), "cannot contain a NUL character")]:
        with pytest.raises(OptimizerException, match=said):
            Optimizer(config, verbose=0, store=bad)


def test_an_optimizer_per_experiment_does_not_leak_descriptors(file_store):
    config = {"algorithm": "random", "spec": {"maxCombo": 200, "metric": "loss"},
              "parameters": {"x": {"type": "float", "min": 0, "max": 1}}}
    optimizer_id = Optimizer(config, verbose=0, store=file_store).id
    gc.collect()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(60):
        opt = Optimizer(optimizer_id, verbose=0, store=file_store)
        experiment = opt.next()
        experiment.log_metric("loss", 1.0)
        experiment.end()
    del opt, experiment
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= before + 2
