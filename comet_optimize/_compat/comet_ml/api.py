"""``comet_ml.api``: Comet's client for reading its server, under its own module path.

Scripts import it at the top (``from comet_ml.api import API``) even where the
optimizer loop never uses it: the import works, and making an ``API`` is refused
in one sentence, as ``comet_ml.API`` is.
"""

from . import API, APIExperiment

__all__ = ["API", "APIExperiment"]
