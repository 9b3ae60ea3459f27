"""``python -m comet_optimize.cli`` is ``comet`` (handy where the console script is not on PATH)."""

from comet_optimize.cli.main import main

main()
