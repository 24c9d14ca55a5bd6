"""Verilog-A memristor models (``<name>.va``), compiled to OSDI on first use."""
