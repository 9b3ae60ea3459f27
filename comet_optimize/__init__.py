"""comet_optimize: an offline, drop-in replacement for Comet ML's Optimizer.

The heavy pieces (numpy, scipy) are imported only when an Optimizer is used, so
``import comet_optimize`` and ``comet --help`` stay fast.
"""

from comet_optimize.errors import InvalidOptimizerParameters, OptimizerException

__version__ = "0.1.0"
__all__ = [
    "Experiment",
    "InvalidOptimizerParameters",
    "Optimizer",
    "OptimizerException",
    "__version__",
]


def __getattr__(name: str):
    if name == "Optimizer":
        from comet_optimize.optimizer import Optimizer

        return Optimizer
    if name == "Experiment":
        from comet_optimize.experiment import Experiment

        return Experiment
    raise AttributeError(f"module 'comet_optimize' has no attribute {name!r}")
