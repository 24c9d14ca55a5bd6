"""memcosim.nn: torch modules whose matrix products run on simulated crossbar tiles (``CircuitLinear``,
``convert_to_circuit``)."""
