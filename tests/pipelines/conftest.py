"""Pipeline tests run their small networks on one intra-op thread (see tests/_threads.py)."""

from _threads import one_intra_op_thread  # noqa: F401  (autouse fixture)
