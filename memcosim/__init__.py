"""memcosim: SPICE-backed co-simulation of memristor crossbar arrays.

Layers, each importing only from the ones before it: ``memcosim`` (errors, field checks, files,
configuration) -> ``memcosim.devices`` -> ``memcosim.circuits`` -> ``memcosim.cosim`` (engine and
array operations) -> ``memcosim.programming`` -> ``memcosim.trainers`` / ``memcosim.hardware_aware``
-> ``memcosim.studies`` -> ``memcosim.cli``. See ``docs/architecture.md``.
"""

__version__ = "0.1.0"
