"""Device physics: the Verilog-A model registry and compiler, per-model presets, conductance laws and variation."""
