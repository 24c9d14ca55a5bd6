"""The ngspice engine (library, session, worker process, waveforms) and array operations built on it (reads, crossbar layers, periphery views)."""
