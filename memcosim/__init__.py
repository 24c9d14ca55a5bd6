"""memcosim: SPICE-backed co-simulation of memristor crossbar arrays.

Sub-packages: ``memcosim.circuits`` (array and periphery description, netlist rendering,
structure checks, reference solvers), ``memcosim.cosim`` (the ngspice session, device
models, programming), ``memcosim.trainers`` (learning algorithms).
"""

__version__ = "0.1.0"
