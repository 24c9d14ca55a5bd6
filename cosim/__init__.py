"""The ngspice co-simulation session, device models and the programming path."""
