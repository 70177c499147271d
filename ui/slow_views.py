"""A small server-wide budget for the slow views: Imagine's pictures and Evaluate's 10,000 predictions.

Each takes from a fraction of a second to a few seconds of CPU. Any number of visitors may open
them at once, so at most ``MAX_CONCURRENT_SLOW_VIEWS`` are computed at a time; the others wait
their turn instead of all competing for the same cores (and for the trainings' cores).
"""
import threading

from core import limits

_SLOTS = threading.BoundedSemaphore(limits.MAX_CONCURRENT_SLOW_VIEWS)


def within_budget(compute):
    """``compute()`` once a server-wide slot for slow views is free."""
    with _SLOTS:
        return compute()
