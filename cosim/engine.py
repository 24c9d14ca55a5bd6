"""Opening a co-simulation session: the one way to get a :class:`~memcosim.cosim.session.Session`.

:func:`open_session` loads a netlist into ngspice in this process (``SessionOptions(worker=False)``:
a :class:`~memcosim.cosim.session.Session`) or in a worker process the session owns (``worker=True``,
the default: a :class:`~memcosim.cosim.worker.WorkerSession`, same public API, a crash or hang costs
one step). This module sits above both, so the in-process session never imports the worker.
"""

from __future__ import annotations

from memcosim.circuits.netlist import Netlist
from memcosim.cosim.session import Session, SessionOptions
from memcosim.cosim.worker import WorkerSession


def open_session(netlist: Netlist, options: SessionOptions | None = None) -> Session:
    """A session holding ``netlist``: in a worker process if ``options.worker`` (the default), else in this
    process (then at most one open session per process: opening one closes the previous one).

    >>> with open_session(xbar.netlist) as s:      # models compiled + netlist parsed once
    ...     s.set_sources({"VROW0": 0.2})          # volts
    ...     s.op(currents=["VCOL0"])["VCOL0"]      # amperes
    """
    options = options or SessionOptions()
    if options.worker:
        return WorkerSession(netlist, options)
    return Session(netlist, options)
