"""``comet_ml.experiment``: the module Comet's experiment classes live in.

Scripts import it for its name (``from comet_ml import experiment``, then
``logging.getLogger(experiment.__name__)`` to catch Comet's log lines) or for
``BaseExperiment`` in type checks; both are our offline `Experiment`.
"""

from comet_optimize.experiment import Experiment

BaseExperiment = Experiment

__all__ = ["BaseExperiment", "Experiment"]
