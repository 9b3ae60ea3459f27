"""The work behind each ``comet optimize`` form, as plain functions.

The click layer (`comet_optimize.cli.main`) only parses arguments and prints
what these return; tests call them directly. Every user mistake surfaces as
`BadInput` with one sentence, which the command line turns into one line on
stderr and exit status 2. The Optimizer (numpy, scipy) is imported here,
inside the functions, never when ``comet --help`` runs.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator
from typing import IO, Any

from comet_optimize import encoding, jsontext, safe_files
from comet_optimize.cli import report
from comet_optimize.cli.launcher import (
    DEFAULT_GRACE,
    BadInput,
    Plan,
    check_dump,
    check_executable,
    check_final_output,
    check_grace,
    check_script,
    default_jobs,
    ensure_memory,
    ensure_open_files,
    parse_gpus,
    run_workers,
    summary,
)
from comet_optimize.echo import show
from comet_optimize.errors import OptimizerException

SCRIPT_SUFFIXES = (".py", ".sh")


def resolve_store(store: str | None) -> str:
    """The store's absolute root, refusing one that cannot be a store before any work."""
    from comet_optimize.store import default_root

    location = store or default_root()
    if "://" in location:
        from comet_optimize.store import open_store

        try:
            open_store(location)  # connects now: a wrong password or a down server stops here
            return location  # a URL may hold a password: print store.location, never this
        except OptimizerException as error:
            raise BadInput(str(error)) from None
    from comet_optimize.store.journal import expand_root

    try:
        root = expand_root(location)
    except OptimizerException as error:
        raise BadInput(str(error)) from None
    if os.path.exists(root) and not os.path.isdir(root):
        raise BadInput(f"store {root}: not a directory")
    if os.path.isdir(root) and not os.access(root, os.R_OK | os.X_OK):
        raise BadInput(f"store {root}: not readable")
    return root


@contextlib.contextmanager
def _env_without(name: str) -> Iterator[None]:
    """Hide one environment variable: ``status ID`` means that id, whatever the shell says."""
    saved = os.environ.pop(name, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[name] = saved


def open_optimizer(optimizer: str | None, store: str, trials: int | None = None,
                   verbose: int = 1, readonly: bool = False):
    """Create or attach (COMET_OPTIMIZER_ID wins, as in the API); core errors become BadInput.

    ``readonly``: for commands that only look (status, list, export, check): no lock,
    no write access needed, nothing written.
    """
    from comet_optimize.optimizer import Optimizer

    try:
        return Optimizer(optimizer, trials=trials, verbose=verbose, store=store,
                         readonly=readonly)
    except OptimizerException as error:
        raise BadInput(str(error)) from None
    except OSError as error:
        raise BadInput(f"store {store}: {error.strerror or error}") from None


def _check_the_lock(root: str) -> None:
    """A folder store's file system must lock files; checked before anything is created
    or started: on NFS without its lock service, every worker died on its first
    decision, each with a traceback."""
    from comet_optimize.store import FileStore, is_postgres_url

    if is_postgres_url(root):
        return
    try:
        FileStore(root).check_locking()
    except OptimizerException as error:
        raise BadInput(str(error)) from None


def _check_writable(opt: Any) -> None:
    """Workers can record results in the store (`PostgresStore.check_writable`)."""
    check = getattr(opt.store, "check_writable", None)
    if check is not None:
        try:
            check(opt.id)
        except OptimizerException as error:
            raise BadInput(str(error)) from None


def attach(optimizer_id: str | None, store: str):
    """An existing search by id (from the argument, else COMET_OPTIMIZER_ID), quietly."""
    from comet_optimize.store import is_optimizer_id

    optimizer_id = (optimizer_id or os.environ.get("COMET_OPTIMIZER_ID") or "").strip()
    if not optimizer_id:
        raise BadInput("missing optimizer ID (or set COMET_OPTIMIZER_ID)")
    if not is_optimizer_id(optimizer_id):
        raise BadInput(f"{show(optimizer_id)} is not an optimizer id (32 lowercase hex "
                       f"characters; see 'comet optimize list')")
    with _env_without("COMET_OPTIMIZER_ID"):
        return open_optimizer(optimizer_id, store, verbose=0, readonly=True)


def json_safe(value: Any) -> Any:
    """Plain JSON (no NaN/Infinity tokens): non-finite floats become their repr."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return jsontext.indented(json_safe(value))


# -- comet optimize OPTIMIZER

def create_or_attach(optimizer: str, store: str | None = None, trials: int | None = None,
                     dump: str | None = None) -> str:
    """Make the search exist and return its id (``export COMET_OPTIMIZER_ID=$(...)``)."""
    if dump:
        check_dump(dump)
    root = resolve_store(store)
    opt = open_optimizer(optimizer, root, trials=trials)
    if dump:
        try:
            write_dump(dump, report.status_report(opt.status(), opt.experiments()))
        except BadInput as error:
            raise BadInput(f"{error} (the search is {opt.id})") from None
    return opt.id


def write_dump(path: str, data: dict[str, Any]) -> None:
    try:
        safe_files.write_output(path, encoding.utf8(dumps(data) + "\n"))
    except OSError as error:
        raise BadInput(f"-d {path}: {error.strerror}") from None


# -- comet optimize [options] SCRIPT OPTIMIZER [-- ARGS]

def split_positionals(positionals: list[str]) -> tuple[str | None, str]:
    """(SCRIPT, OPTIMIZER) from the one or two positional arguments.

    One argument is the OPTIMIZER, except a script (``.py``) while
    COMET_OPTIMIZER_ID is set: then the script runs against that search.
    """
    if not positionals:
        raise BadInput("missing OPTIMIZER (a config file or an optimizer id); "
                       "usage: comet optimize [OPTIONS] [SCRIPT] OPTIMIZER [[--] ARGS...]")
    if len(positionals) > 2:
        extra = " ".join(positionals[2:])
        raise BadInput(f"unexpected argument(s) {show(extra)}: the script's own arguments go "
                       f"after '--' (comet optimize SCRIPT OPTIMIZER -- ARGS)")
    if len(positionals) == 2:
        return positionals[0], positionals[1]
    only = positionals[0]
    if only.endswith(SCRIPT_SUFFIXES) and os.path.isfile(only):
        env_id = os.environ.get("COMET_OPTIMIZER_ID", "").strip()
        if env_id:
            return only, env_id
        raise BadInput(f"{only} looks like a script: give the OPTIMIZER (a config file or an "
                       f"id) after it")
    return None, only


def launch(script: str, optimizer: str, args: list[str] | None = None, jobs: int | None = None,
           trials: int | None = None, executable: str | None = None, dump: str | None = None,
           store: str | None = None, gpus: str | None = None, grace: float = DEFAULT_GRACE,
           stdout: IO[bytes] | None = None, stderr: IO[bytes] | None = None,
           progress: bool | None = None, comet_ml_shim: bool | None = None,
           report_path: str | None = None) -> int:
    """Run ``jobs`` workers on one search; return the exit status (0: every worker exited 0).

    Validation comes first, so a typo costs nothing: no search is created and
    no process started when the script, the store, ``-j`` or ``--gpus`` is wrong.
    ``comet_ml_shim``: whether workers can ``import comet_ml`` as comet_optimize;
    None (auto) means yes unless their interpreter has a real comet_ml.
    """
    stdout = stdout if stdout is not None else _binary(sys.stdout)
    stderr_given = stderr is not None
    stderr = stderr if stderr_given else _binary(sys.stderr)
    gpu_list = parse_gpus(gpus) if gpus is not None else None
    jobs = default_jobs(jobs, gpu_list)
    if jobs < 1:
        raise BadInput(f"-j {jobs}: the number of workers must be at least 1")
    ensure_memory(jobs)
    ensure_open_files(jobs)
    grace = check_grace(grace)
    if dump:
        check_dump(dump)
    if report_path:
        check_report_path(report_path)
    check_script(script)
    interpreter = check_executable(executable or sys.executable)
    root = resolve_store(store)
    _check_the_lock(root)
    opt = open_optimizer(optimizer, root, trials=trials)
    _check_writable(opt)
    plan = Plan(script=script, optimizer=optimizer, optimizer_id=opt.id, store=root,
                jobs=jobs, executable=executable or interpreter, args=list(args or []),
                trials=trials, gpus=gpu_list, grace=grace,
                executable_given=executable is not None, store_given=store is not None,
                comet_ml_shim=comet_ml_shim)
    plan.shim = _use_shim(comet_ml_shim, interpreter, stderr)
    try:
        plan.log_folder = opt.store.log_folder(opt.id)
    except OSError as error:
        raise BadInput(f"store {root}: cannot create the log folder ({error.strerror})") \
            from None
    if progress is None:
        progress = _isatty(stderr)
    if stdout is None:  # started with >&-: nothing to show the output on
        _write(stderr, b"comet optimize: stdout is closed: worker output goes only to "
                       b"the logs\n")
    result = run_workers(plan, stdout=stdout, stderr=stderr,
                         progress=_progress_line(opt, result_start=None) if progress else None,
                         terminal=_isatty(stdout))
    opt.refresh()  # workers that died holding an experiment: failed now, not "running"
    status = opt.status()
    text = encoding.utf8(summary(status, plan, result) + "\n")
    stderr_failed = not stderr_given and getattr(sys.stderr, "failed", False)  # 2>/dev/full
    if stderr_failed or "stderr" in result.lost or not _write(stderr, text):
        if "stdout" not in result.lost:  # stderr is gone: the summary is worth stdout then
            _write(stdout, text)
    outputs_failed = False
    if dump:
        data = report.status_report(status, opt.experiments())
        data["workers"] = [{"index": e.index, "pid": e.pid, "returncode": e.returncode}
                           for e in result.exits]
        data["wall_time"] = result.wall_time
        data["resume_command"] = plan.resume_command()
        try:
            write_dump(dump, data)
        except BadInput as error:  # the search ran: the report and the exit status still count
            _write(stderr, encoding.utf8(f"comet optimize: no dump: {error}\n"))
            outputs_failed = True
    if report_path:
        try:
            write_report(opt, report_path, "--report")
        except BadInput as error:
            _write(stderr, encoding.utf8(f"comet optimize: no report: {error}\n"))
            outputs_failed = True
        else:
            _write(stderr, encoding.utf8(f"comet optimize: report written to {report_path}\n"))
    return result.exit_status() or int(outputs_failed)


def _use_shim(choice: bool | None, executable: str, stderr: IO[bytes] | None) -> bool:
    from comet_optimize import _compat

    if choice is False:
        return False
    installed = _compat.real_comet_ml_installed(executable)
    if choice and installed:
        _write(stderr, b"comet optimize: --comet-ml-shim: workers import comet_optimize as "
                       b"comet_ml, not the comet_ml installed for their interpreter\n")
    return bool(choice) or not installed


def _binary(stream: Any) -> IO[bytes] | None:
    """The byte stream under sys.stdout/sys.stderr; None when it was closed (``>&-``)."""
    return getattr(stream, "buffer", None)


def _isatty(stream: IO[bytes] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError, AttributeError):
        return False


def _write(stream: IO[bytes] | None, data: bytes) -> bool:
    """Write and flush; False (never an exception) when the stream is closed or full."""
    if stream is None:
        return False
    try:
        stream.write(data)
        stream.flush()
        return True
    except (OSError, ValueError):
        return False


def _progress_line(opt, result_start: float | None):
    import time

    start = time.monotonic() if result_start is None else result_start

    def line() -> str:
        status = opt.status()
        budget = status.get("budget")
        best = status.get("best")
        done = status["completed"] + status["aborted"] + status["failed"]
        return (f"[comet optimize] {done}/{budget if budget else '?'} done, "
                f"{status['running']} running, best "
                f"{report.format_score(best['score']) if best else '-'}, "
                f"{report.format_duration(time.monotonic() - start)}")

    return line


# -- comet optimize status / list / export

def status_text(optimizer_id: str | None, store: str | None = None,
                as_json: bool = False) -> str:
    opt = attach(optimizer_id, resolve_store(store))
    data = report.status_report(opt.status(), opt.experiments())
    return dumps(data) if as_json else report.render_status(data)


def list_rows(store: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Every search in the store, oldest first; a broken one is listed with its error."""
    from comet_optimize.store import open_store

    root = resolve_store(store)
    try:
        where = open_store(root)
        ids = where.list_ids()
    except OptimizerException as error:
        raise BadInput(str(error)) from None
    except OSError as error:
        raise BadInput(f"store {root}: {error.strerror}") from None
    rows = []
    for optimizer_id in ids:
        try:
            with _env_without("COMET_OPTIMIZER_ID"):
                rows.append(report.list_row(open_optimizer(optimizer_id, root, verbose=0,
                                                           readonly=True).status()))
        except (BadInput, OptimizerException) as error:
            rows.append({"id": optimizer_id, "status": f"damaged: {error}"})
    return where.location, rows


def check_text(optimizer_id: str | None, store: str | None = None) -> tuple[str, int]:
    """Verify a search's journal: what is damaged, and what that loses. Exit 1 if damaged."""
    from comet_optimize.cli.check import check_search

    opt = attach(optimizer_id, resolve_store(store))
    return check_search(opt)


def list_text(store: str | None = None, as_json: bool = False) -> str:
    root, rows = list_rows(store)
    return dumps(rows) if as_json else report.render_list(rows, root)


def export_text(optimizer_id: str | None, store: str | None = None,
                fmt: str = "csv") -> str:
    opt = attach(optimizer_id, resolve_store(store))
    columns, rows = report.export_rows(opt.status(), opt.experiments())
    if fmt == "json":
        return dumps(rows)
    return report.to_csv(columns, rows).rstrip("\n")


# -- comet optimize copy

def copy_search(optimizer_id: str, to: str, store: str | None = None,
                force: bool = False) -> str:
    """Copy a search exactly (same id, config and events, in order) to another store.

    For moving a stopped search between a folder and PostgreSQL, so a search
    begun on a laptop continues on a cluster. Heartbeats and logs stay behind:
    they belong to the machines that ran the workers. The copy is read back and
    compared before this reports success. The experiments' files (assets) go
    where the target keeps them (`comet_optimize.assets`): from a folder store
    into this machine's asset folder for a PostgreSQL store, and back; files that
    workers on other machines logged to a PostgreSQL search stay on those
    machines, and the summary counts them.

    A search with experiments still running on live workers is refused unless
    ``force``: what those workers record afterwards would go to the original
    only, and a search continued from the copy would never see it.
    """
    from comet_optimize.store import default_root, is_optimizer_id, open_store

    optimizer_id = (optimizer_id or "").strip()
    if not is_optimizer_id(optimizer_id):
        raise BadInput(f"{show(optimizer_id)} is not an optimizer id (32 lowercase hex "
                       f"characters; see 'comet optimize list')")
    try:
        source = open_store(store or default_root())
        target = open_store(to)
        if source.location == target.location:
            raise BadInput(f"--to {target.location}: that is the store the search is in")
        if not source.exists(optimizer_id):
            raise BadInput(f"unknown optimizer id {optimizer_id} (not found in the store "
                           f"{source.location})")
        if target.exists(optimizer_id):
            raise BadInput(f"the search {optimizer_id} already exists in {target.location}")
        running = [] if force else _running(optimizer_id, store or default_root())
        if running:
            raise BadInput(
                f"the search {optimizer_id} has {_running_words(running)} in "
                f"{source.location}: what they record from now on would not be in the copy; "
                f"stop its workers first, or give --force to copy what is recorded so far")
        config = source.read_config(optimizer_id)
        reader = source.journal(optimizer_id, readonly=True)
        events = _without_positions(reader.read_new())
        reader.close()
        target.create(optimizer_id, config)
        journal = target.journal(optimizer_id)
        with journal.locked():
            journal.append(events)
        journal.close()
        check = target.journal(optimizer_id, readonly=True)
        copied = _without_positions(check.read_new())
        check.close()
    except OptimizerException as error:
        raise BadInput(str(error)) from None
    except OSError as error:
        raise BadInput(f"cannot copy {optimizer_id}: {error.strerror or error}") from None
    same_events = (jsontext.standard(copied, sort_keys=True)
                   == jsontext.standard(events, sort_keys=True))
    if target.read_config(optimizer_id) != config or not same_events:
        raise BadInput(f"the copy of {optimizer_id} in {target.location} differs from the "
                       f"original: remove it and try again")
    try:
        files, size, elsewhere, where = _copy_assets(source, target, optimizer_id, events)
    except OSError as error:
        raise BadInput(f"copied the events of {optimizer_id}, but not its files: "
                       f"{error.strerror or error} ({error.filename})") from None
    damaged = f"; {len(reader.damage)} unreadable stretch(es) left behind" \
        if reader.damage else ""
    assets = f", {files} asset file(s), {size:,} bytes, into {where}" if files else ""
    away = (f"; the files of {elsewhere} experiment(s) are not on this machine (they stay "
            f"where their workers ran)") if elsewhere else ""
    return (f"copied {optimizer_id} ({len(events)} events{assets}) from {source.location} "
            f"to {target.location}{damaged}{away}")


def _copy_assets(source: Any, target: Any, optimizer_id: str,
                 events: list[dict[str, Any]]) -> tuple[int, int, int, str]:
    """Copy each experiment's folder of files to where ``target`` keeps them.

    Returns (files copied, bytes, experiments that list files not found here,
    the target's folder for this search).
    """
    import shutil

    from comet_optimize import safe_files
    from comet_optimize.assets import AssetFolder, folder_for
    from comet_optimize.events import assigned_keys
    from comet_optimize.store.journal import is_optimizer_id

    # An experiment key becomes a folder name: only the keys we make (32 hex digits).
    keys = {count: key for event in events for count, key in assigned_keys(event)
            if isinstance(key, str) and is_optimizer_id(key)}
    listed = {keys.get(event.get("count")) for event in events
              if event.get("type") in ("end", "update") and event.get("assets")}
    files = size = elsewhere = 0
    for key in sorted(keys.values()):
        origin = folder_for(source, optimizer_id, key)
        destination = folder_for(target, optimizer_id, key)
        if os.path.realpath(origin) == os.path.realpath(destination):
            continue  # two databases seen from one machine: one asset folder
        if not os.path.isdir(origin):
            elsewhere += key in listed
            continue
        into = AssetFolder(destination)
        into.ensure()
        for folder, _, names in os.walk(origin):  # links to folders are not entered
            for name in names:
                original = os.path.join(folder, name)
                if not safe_files.is_plain(original):
                    continue  # a link or a FIFO is not the experiment's file
                relative = os.path.relpath(original, origin)
                into.copy_in(relative, original)
                shutil.copystat(original, os.path.join(destination, relative))
                files += 1
                size += os.path.getsize(original)
    return files, size, elsewhere, os.path.dirname(folder_for(target, optimizer_id, "-"))


def _running(optimizer_id: str, location: str) -> list[dict[str, Any]]:
    """The search's experiments held by workers that are alive (or not yet presumed
    dead: another host's lease has not lapsed)."""
    with _env_without("COMET_OPTIMIZER_ID"):
        opt = open_optimizer(optimizer_id, location, verbose=0, readonly=True)
    return [row for row in opt.experiments() if row["status"] == "running"]


def _running_words(running: list[dict[str, Any]]) -> str:
    hosts = sorted({report.shown(str(row.get("host") or "?")) for row in running})
    where = ", ".join(hosts[:3]) + (f" and {len(hosts) - 3} more" if len(hosts) > 3 else "")
    return f"{len(running)} experiment(s) running (on {where})"


def _without_positions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events as written: ``_at`` is where a store found one, not part of it."""
    return [{key: value for key, value in event.items() if key != "_at"} for event in events]


# -- comet optimize report / dashboard / status --watch

def _require_report_extra() -> None:
    from comet_optimize.report import MissingExtra, require

    try:
        require()
    except MissingExtra as error:
        raise BadInput(str(error)) from None


def write_report(opt, output: str, option: str = "-o") -> int:
    """Write the one-file HTML report of an open Optimizer; return its size in bytes."""
    from comet_optimize.report import render

    _require_report_extra()
    text = encoding.utf8(render(opt))
    try:
        safe_files.write_output(output, text)
    except OSError as error:
        raise BadInput(f"{option} {output}: {error.strerror}") from None
    return len(text)


def check_report_path(path: str) -> None:
    """``--report FILE``: the extra is installed and FILE can be written, before any work."""
    _require_report_extra()
    check_final_output("--report", path, "a report (HTML)", (b"<!doctype html", b"<html"))


def report_file(optimizer_id: str | None, store: str | None = None,
                output: str | None = None) -> str:
    """``comet optimize report ID``: write the report (default ./comet-report-ID.html)."""
    _require_report_extra()
    opt = attach(optimizer_id, resolve_store(store))
    output = output or f"comet-report-{opt.id}.html"
    size = write_report(opt, output)
    return f"wrote {output} ({size / 1e6:.1f} MB): open it in a browser"


def watch_status(optimizer_id: str | None, store: str | None = None) -> int:
    """``comet optimize status ID --watch``: redraw in place until the search completes."""
    from comet_optimize.cli.watch import watch

    opt = attach(optimizer_id, resolve_store(store))
    return watch(opt, sys.stdout, _isatty(sys.stdout))


def dashboard(store: str | None = None, host: str = "127.0.0.1", port: int = 8050) -> int:
    """``comet optimize dashboard``: serve the store read-only until Ctrl-C."""
    from comet_optimize.report.server import serve

    _require_report_extra()
    root = resolve_store(store)
    try:
        serve(root, host, port)
    except OSError as error:
        raise BadInput(f"cannot serve on {host}:{port} ({error.strerror or error})") from None
    return 0
