"""BLAS thread choice for training.

On small mini-batches the matrix products are too small to split across
threads: one BLAS thread is as fast or faster and leaves the other cores to
other users of the machine.
"""
import contextlib
import functools

SINGLE_THREAD_MAX_BATCH = 32


@functools.lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def blas_threads_for(batch_size):
    """Context manager limiting BLAS to one thread for mini-batches up to 32 examples."""
    if batch_size > SINGLE_THREAD_MAX_BATCH:
        return contextlib.nullcontext()
    return _controller().limit(limits=1, user_api="blas")
