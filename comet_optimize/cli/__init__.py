"""The ``comet`` command line: ``comet optimize`` launches, watches and reports on searches.

`main` holds the click commands (parsing and reporting only); `launcher` runs
the workers; `report` turns an optimizer's status into tables, CSV and JSON.
Nothing here imports numpy at module level, so ``comet --help`` stays fast.
"""
