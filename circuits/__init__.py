"""Array and periphery descriptions, netlist rendering, structure checks and reference solvers."""
