"""Exceptions users can catch; every message is one sentence naming the culprit."""


class OptimizerException(Exception):
    """Anything the optimizer cannot do: an unknown id, a broken store, a bad config."""


class InvalidOptimizerParameters(OptimizerException):
    """The configuration (or a value given for it) is invalid; nothing was stored."""
