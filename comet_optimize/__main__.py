"""``python -m comet_optimize``: ``run SCRIPT [ARGS...]``, or else the ``comet`` command line.

``python -m comet_optimize run train.py opt.config --epochs 5`` runs the script
exactly as ``python train.py ...`` would (same interpreter, arguments, exit
status; the process is replaced, not wrapped), except that ``import comet_ml``
resolves to comet_optimize when no real comet_ml is installed. It is the way to
run a Comet script unchanged outside ``comet optimize``, which does the same for
its workers. ``--comet-ml-shim`` uses ours even when a real comet_ml is there;
``--no-comet-ml-shim`` never does.

Any other arguments are ``comet``'s: ``python -m comet_optimize optimize ...``.
"""

from __future__ import annotations

import os
import sys

USAGE = ("usage: python -m comet_optimize run [--comet-ml-shim | --no-comet-ml-shim] "
         "SCRIPT [ARGS...]")
HELP = f"""{USAGE}

Run SCRIPT with this Python, as 'python SCRIPT ARGS...' would, except that
'import comet_ml' gives comet_optimize when no real comet_ml is installed.

  --comet-ml-shim     use comet_optimize as comet_ml even if a real one is installed
  --no-comet-ml-shim  never (the script sees exactly what plain python sees)
"""


def run(argv: list[str]) -> int:
    """Replace this process by ``python SCRIPT ARGS...`` with the comet_ml shim importable."""
    from comet_optimize import _compat

    choice: bool | None = None
    while argv and argv[0].startswith("-"):
        option, argv = argv[0], argv[1:]
        if option in ("-h", "--help"):
            print(HELP, end="")
            return 0
        if option in ("--comet-ml-shim", "--no-comet-ml-shim"):
            choice = option == "--comet-ml-shim"
        elif option == "--":
            break
        else:
            return _error(f"no such option {option!r}")
    if not argv:
        return _error("missing SCRIPT")
    script, args = argv[0], argv[1:]
    if not os.path.isfile(script):
        return _error(f"{script}: no such file" if not os.path.exists(script)
                      else f"{script}: not a file")
    env = dict(os.environ)
    if choice or (choice is None and not _compat.real_comet_ml_installed()):
        env = _compat.with_shim(env)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, script, *args], env)
    return 0  # not reached


def _error(message: str) -> int:
    print(f"Error: {message} ({USAGE})", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:
        sys.exit(run(argv[1:]))
    from comet_optimize.cli.main import main as comet

    comet(argv)


if __name__ == "__main__":
    main()
