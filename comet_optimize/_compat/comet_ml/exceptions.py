"""``comet_ml.exceptions``: the optimizer's exceptions under Comet's module path."""

from comet_optimize.errors import InvalidOptimizerParameters, OptimizerException

__all__ = ["InvalidOptimizerParameters", "OptimizerException"]
