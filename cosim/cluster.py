"""A Dask client for work spread over processes: a running cluster given by its scheduler address, or a new
local cluster of worker processes with one thread each (every process then owns its ngspice).

The one way to reach a cluster, shared by studies (``memcosim sweep --scheduler``) and tiled arrays
(:mod:`memcosim.cosim.tiles`). Dask is imported when a client is made, not when this module loads.
"""

from __future__ import annotations

import logging

from memcosim.errors import ConfigError
from memcosim.signals import children_ignore_ctrl_c


def connect(scheduler: str, workers: int, timeout: float, field: str = "study.scheduler"):
    """A Dask client: to the running scheduler at ``scheduler``, or (empty address) to a new local cluster of
    ``workers`` processes with one thread each. ConfigError naming ``field`` if the address is malformed or
    the scheduler cannot be reached within ``timeout`` seconds."""
    from distributed import Client, LocalCluster
    from distributed.comm.addressing import parse_address, parse_host_port

    if scheduler:
        try:  # checked before a Client exists: a Client that failed to start hangs in its __del__
            kind, location = parse_address(scheduler, strict=False)
            if kind in ("tcp", "tls") and not parse_host_port(location)[0]:
                raise ValueError(f"no host in {scheduler!r}")
        except (ValueError, TypeError) as exc:
            raise ConfigError(field, f"not a scheduler address: {scheduler!r} ({exc}); give tcp://host:port") from None
        try:
            return Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(field, f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s "
                                     f"({type(exc).__name__}: {exc})") from None
        except ValueError as exc:
            raise ConfigError(field, f"not a scheduler address: {scheduler!r} ({exc})") from None
    with children_ignore_ctrl_c():  # Ctrl-C stops the run here, not in every worker
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.CRITICAL)  # task errors reach the caller through their futures
    return Client(cluster, set_as_default=False)
