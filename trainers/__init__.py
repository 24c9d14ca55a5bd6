"""Learning algorithms that talk to the circuit through the session."""
