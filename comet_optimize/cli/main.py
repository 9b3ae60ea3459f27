"""``comet``: the click commands. They parse, call `comet_optimize.cli.commands`, print.

``comet optimize`` has two faces. Its first positional argument is usually a
SCRIPT or an OPTIMIZER, but the words ``status``, ``list`` and ``export`` in
that slot name a sub-command. `OptimizeCommand` looks at the first
positional word before click parses anything and dispatches; a script that
really is called ``status`` is run as ``./status``.

Errors are one line on stderr and exit status 2 (see `main`), never a traceback.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from typing import Any

import click

from comet_optimize import __version__
from comet_optimize.cli.launcher import DEFAULT_GRACE, MAX_GRACE, BadInput
from comet_optimize.echo import show
from comet_optimize.errors import OptimizerException

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
_FORWARDED = "comet_optimize.forwarded"
_SUBCOMMAND = "comet_optimize.subcommand"


class UserError(click.ClickException):
    """A mistake on the command line: one line, exit status 2."""

    exit_code = 2


def first_positional(args: list[str], value_options: set[str]) -> int | None:
    """Index of the first argument that is not an option or an option's value."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return None
        if arg.startswith("-") and arg != "-":
            if arg in value_options:
                index += 1  # skip the value too
            index += 1
            continue
        return index
    return None


def _is_known(arg: str, known: set[str]) -> bool:
    """``--store=/s``, ``--store``, ``-j2``, ``-j``: one of the launcher's own options."""
    if arg.startswith("--"):
        return arg.split("=", 1)[0] in known
    return arg.startswith("-") and len(arg) >= 2 and arg[:2] in known


def split_script_args(args: list[str], known: set[str], value_options: set[str]
                      ) -> tuple[list[str], list[str]]:
    """(the launcher's arguments, the script's), as Comet's launcher splits them.

    Everything after ``--`` is the script's. Before it the launcher keeps its
    own options wherever they stand, and SCRIPT and OPTIMIZER; any other word
    after OPTIMIZER (an option it does not know, that option's value, a third
    positional) is forwarded to the script, in order. Before OPTIMIZER an
    unknown option stays an error: there is no script yet to give it to.
    """
    mine: list[str] = []
    theirs: list[str] = []
    positionals = 0
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            theirs += args[index + 1:]
            break
        if _is_known(arg, known):
            mine.append(arg)
            if arg in value_options and index + 1 < len(args):
                index += 1
                mine.append(args[index])
        elif positionals >= 2:
            theirs.append(arg)
        else:
            mine.append(arg)
            if not arg.startswith("-") or arg == "-":
                positionals += 1
        index += 1
    return mine, theirs


class OptimizeCommand(click.Command):
    """The launcher, which hands ``status``/``list``/``export`` to their own commands."""

    def __init__(self, *args: Any, subcommands: dict[str, click.Command], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.subcommands = subcommands

    def _value_options(self) -> set[str]:
        names: set[str] = set()
        for param in self.params:
            if isinstance(param, click.Option) and not param.is_flag:
                names.update(param.opts)
        return names

    def _known_options(self, ctx: click.Context) -> set[str]:
        names = set(ctx.help_option_names)
        for param in self.params:
            if isinstance(param, click.Option):
                names.update(param.opts)
                names.update(param.secondary_opts)
        return names

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = list(args)
        index = first_positional(args, self._value_options())
        if index is not None and args[index] in self.subcommands:
            ctx.meta[_SUBCOMMAND] = (args[index], args[:index] + args[index + 1:])
            return []
        args, ctx.meta[_FORWARDED] = split_script_args(args, self._known_options(ctx),
                                                       self._value_options())
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        if _SUBCOMMAND in ctx.meta:
            name, rest = ctx.meta[_SUBCOMMAND]
            command = self.subcommands[name]
            with command.make_context(name, rest, parent=ctx) as sub_ctx:
                return command.invoke(sub_ctx)
        return super().invoke(ctx)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return ["[OPTIONS] [SCRIPT] OPTIMIZER [[--] ARGS...]"]

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, command.get_short_help_str(90))
                                for name, command in self.subcommands.items()])
        super().format_epilog(ctx, formatter)


class Seconds(click.ParamType):
    """A finite number of seconds in [0, high]: click's FloatRange lets ``nan`` through."""

    name = "seconds"

    def __init__(self, high: float):
        self.high = high

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{show(value)} is not a number of seconds", param, ctx)
        if not (math.isfinite(number) and 0 <= number <= self.high):
            self.fail(f"{show(value)} is not a number of seconds from 0 to {self.high:g}",
                      param, ctx)
        return number


def _run(function, *args: Any, **kwargs: Any) -> Any:
    """Call the plain function; a user mistake becomes a one-line UserError."""
    try:
        return function(*args, **kwargs)
    except BadInput as error:
        raise UserError(str(error)) from None
    except OptimizerException as error:
        raise UserError(str(error)) from None


store_option = click.option(
    "--store", metavar="PATH", default=None,
    help="Where searches live (default: $COMET_OPTIMIZE_STORE or ~/.comet_optimize).")


@click.command("status", context_settings=CONTEXT)
@click.argument("optimizer_id", metavar="[ID]", required=False)
@store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON instead of a table.")
@click.option("--watch", is_flag=True,
              help="Live view, redrawn every second until the search completes (Ctrl-C stops).")
def status_command(optimizer_id: str | None, store: str | None, as_json: bool,
                   watch: bool) -> int | None:
    """Show a search: counts, budget, best result, top 10, who is running what."""
    from comet_optimize.cli import commands

    if watch:
        if as_json:
            raise UserError("--watch and --json do not go together (--watch is for people)")
        return _run(commands.watch_status, optimizer_id, store)

    click.echo(_run(commands.status_text, optimizer_id, store, as_json))


@click.command("list", context_settings=CONTEXT)
@store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON instead of a table.")
def list_command(store: str | None, as_json: bool) -> None:
    """List the searches in the store (id, name, algorithm, status, progress, best)."""
    from comet_optimize.cli import commands

    click.echo(_run(commands.list_text, store, as_json))


@click.command("export", context_settings=CONTEXT)
@click.argument("optimizer_id", metavar="[ID]", required=False)
@store_option
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True, help="One row per experiment, parameters as columns.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of stdout.")
def export_command(optimizer_id: str | None, store: str | None, fmt: str,
                   output: str | None) -> None:
    """Export every experiment of a search as CSV or JSON."""
    from comet_optimize import encoding, safe_files
    from comet_optimize.cli import commands

    text = _run(commands.export_text, optimizer_id, store, fmt)
    if output is None:
        click.echo(text)
        return
    try:
        safe_files.write_output(output, encoding.utf8(text + "\n"))
    except OSError as error:
        raise UserError(f"-o {output}: {error.strerror}") from None


@click.command("check", context_settings=CONTEXT)
@click.argument("optimizer_id", metavar="[ID]", required=False)
@store_option
def check_command(optimizer_id: str | None, store: str | None) -> int:
    """Verify a search's journal and say what any damage loses (exit 1 when damaged)."""
    from comet_optimize.cli import commands

    text, code = _run(commands.check_text, optimizer_id, store)
    click.echo(text)
    return code


@click.command("copy", context_settings=CONTEXT)
@click.argument("optimizer_id", metavar="ID")
@click.option("--to", "to", required=True, metavar="STORE",
              help="The store to copy into: a folder or a postgresql:// URL.")
@store_option
@click.option("--force", is_flag=True,
              help="Copy even while experiments of the search are running.")
def copy_command(optimizer_id: str, to: str, store: str | None, force: bool) -> None:
    """Copy a stopped search to another store, same id (folder <-> PostgreSQL)."""
    from comet_optimize.cli import commands

    click.echo(_run(commands.copy_search, optimizer_id, to, store, force))


@click.command("report", context_settings=CONTEXT)
@click.argument("optimizer_id", metavar="[ID]", required=False)
@store_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Where to write the HTML (default: ./comet-report-ID.html).")
def report_command(optimizer_id: str | None, store: str | None, output: str | None) -> None:
    """Write one self-contained HTML file with the search's plots (opens offline)."""
    from comet_optimize.cli import commands

    click.echo(_run(commands.report_file, optimizer_id, store, output))


@click.command("dashboard", context_settings=CONTEXT)
@store_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback is reachable from other "
                   "machines (a warning is printed).")
@click.option("--port", type=click.IntRange(0, 65535), default=8050, show_default=True,
              help="TCP port (0: any free port).")
def dashboard_command(store: str | None, host: str, port: int) -> int:
    """Serve a live, read-only web view of every search in the store."""
    from comet_optimize.cli import commands

    return _run(commands.dashboard, store, host, port)


@click.command(
    "optimize", cls=OptimizeCommand, context_settings={**CONTEXT, "allow_extra_args": True},
    subcommands={"status": status_command, "list": list_command, "export": export_command,
                 "check": check_command,
                 "copy": copy_command, "report": report_command,
                 "dashboard": dashboard_command},
    epilog="Examples:\n\n\b\n"
           "  comet optimize -j 2 train.py opt.config --epochs 5\n"
           "  export COMET_OPTIMIZER_ID=$(comet optimize opt.config)\n"
           "  comet optimize status $COMET_OPTIMIZER_ID",
)
@click.option("-j", "--jobs", "--parallel", type=click.IntRange(min=1), default=None,
              metavar="N",
              help="Workers to run in parallel (default: the number of --gpus, else 1).")
@click.option("-t", "--trials", type=click.IntRange(min=1, max=2**63 - 1), default=None,
              metavar="T",
              help="Pass --trials T to every worker; overrides the config's trials on creation.")
@click.option("-e", "--executable", default=None, metavar="EXECUTABLE",
              help="Program that runs SCRIPT (default: this Python interpreter).")
@click.option("-d", "--dump", default=None, metavar="FILE",
              help="Write the final status as JSON to FILE.")
@store_option
@click.option("--gpus", default=None, metavar="LIST",
              help="GPUs, e.g. 0,1: each worker gets its own CUDA_VISIBLE_DEVICES, round-robin.")
@click.option("--grace", type=Seconds(MAX_GRACE), default=DEFAULT_GRACE, show_default=True,
              metavar="SECONDS",
              help="After Ctrl-C/SIGTERM, how long workers may take to stop before SIGKILL.")
@click.option("--comet-ml-shim/--no-comet-ml-shim", "comet_ml_shim", default=None,
              help="Let workers 'import comet_ml' as comet_optimize (default: only when no "
                   "real comet_ml is installed).")
@click.option("--report", "report_path", default=None, metavar="FILE",
              help="When the run ends, write the search's HTML report to FILE "
                   "(needs comet_optimize[report]).")
@click.pass_context
def optimize_command(ctx: click.Context, jobs: int | None, trials: int | None,
                     executable: str | None, dump: str | None, store: str | None,
                     gpus: str | None, grace: float, comet_ml_shim: bool | None,
                     report_path: str | None) -> int:
    """Run SCRIPT in N parallel workers that share one search.

    Each worker runs `EXECUTABLE SCRIPT OPTIMIZER ARGS... [--trials T]` with
    COMET_OPTIMIZER_ID, COMET_OPTIMIZER_PROCESS_ID, COMET_OPTIMIZER_PROCESS_JOBS
    and COMET_OPTIMIZE_STORE set. OPTIMIZER is a config file or an optimizer id;
    if COMET_OPTIMIZER_ID is set, that search is used. Words after OPTIMIZER that
    are not options of comet optimize, and everything after '--', are passed to
    SCRIPT. Output is shown with a [wI] prefix and kept in the search's
    logs/worker-I.log.

    With only OPTIMIZER: create (or attach to) the search and print its id.

    Exit status: 0 when every worker exited 0, 1 otherwise, 128+signal after
    Ctrl-C (130) or SIGTERM (143), 2 for bad input.
    """
    from comet_optimize.cli import commands

    script, optimizer = _run(commands.split_positionals, list(ctx.args))
    forwarded = ctx.meta.get(_FORWARDED, [])
    if script is None:
        if report_path:
            raise UserError("--report needs a SCRIPT to run (for an existing search: "
                            "comet optimize report ID -o FILE)")
        if forwarded:
            raise UserError(f"script arguments {show(' '.join(forwarded))} need a SCRIPT to "
                            f"pass them to")
        _echo_id(_run(commands.create_or_attach, optimizer, store, trials, dump))
        return 0
    return _run(commands.launch, script, optimizer, forwarded, jobs=jobs, trials=trials,
                executable=executable, dump=dump, store=store, gpus=gpus, grace=grace,
                comet_ml_shim=comet_ml_shim, report_path=report_path)


def _echo_id(optimizer_id: str) -> None:
    """Print the id, the one output of ``comet optimize OPTIMIZER``; a full stdout is one line."""
    try:
        sys.stdout.write(optimizer_id + "\n")
        sys.stdout.flush()
    except (OSError, ValueError, AttributeError) as error:
        _silence(1)
        reason = getattr(error, "strerror", None) or "closed"
        raise click.ClickException(f"cannot write the optimizer id to stdout ({reason}); "
                                   f"it is {optimizer_id}") from None


def _silence(fd: int) -> None:
    """Point a failed or closed std stream at /dev/null, so that nothing else fails on it."""
    try:
        null = os.open(os.devnull, os.O_RDWR)
    except OSError:
        return
    if null != fd:
        os.dup2(null, fd)
        os.close(null)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="comet_optimize",
                      message="%(prog)s %(version)s")
def cli() -> None:
    """Offline hyperparameter search, compatible with Comet ML's `comet optimize`."""


cli.add_command(optimize_command)


class ForgivingStderr:
    """``sys.stderr`` for the command line: a full stderr drops messages, never the command.

    Without it a ``COMET INFO`` line printed to ``2>/dev/full`` failed the whole
    run. After the first failure the stream's descriptor points at /dev/null
    (so nothing fails again, at exit included) and ``failed`` tells the
    launcher to put its summary on stdout.
    """

    def __init__(self, stream: Any):
        self._stream = stream
        self.failed = False

    def write(self, text: str) -> int:
        if not self.failed:
            try:
                return self._stream.write(text)
            except (OSError, ValueError):
                self._fail()
        return len(text)

    def flush(self) -> None:
        if not self.failed:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._fail()

    def _fail(self) -> None:
        self.failed = True
        try:
            _silence(self._stream.fileno())
            self._stream.flush()  # what was left in its buffer now goes to /dev/null
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``comet`` console script."""
    for fd in (0, 1, 2):  # started with e.g. >&-: keep files we open off these numbers
        try:
            os.fstat(fd)
        except OSError:
            _silence(fd)
    for stream in (sys.stdout, sys.stderr):
        # A terminal in a legacy encoding (latin-1) cannot show every name a search
        # holds: write what it cannot encode as escapes rather than fail the command.
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(errors="backslashreplace")
    if sys.stderr is not None and not isinstance(sys.stderr, ForgivingStderr):
        sys.stderr = ForgivingStderr(sys.stderr)
    try:
        code = cli.main(args=argv, prog_name="comet", standalone_mode=False)
    except click.ClickException as error:
        hint = ""
        if isinstance(error, click.UsageError) and error.ctx is not None:
            hint = f" (see '{error.ctx.command_path} --help')"
        click.echo(f"Error: {error.format_message()}{hint}", err=True)
        sys.exit(error.exit_code if not isinstance(error, click.UsageError) else 2)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as error:
        # Writing the output failed (`export ID > out.csv` on a full disk, `> /dev/full`):
        # say so once, and point stdout at /dev/null so the exit's flush cannot fail too.
        _silence(1)
        where = error.filename or "the standard output"
        click.echo(f"Error: cannot write to {where} ({error.strerror or error})", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
