"""The neural pulse predictor (after Yu et al. 2024): dataset from ngspice, training in torch, deployment as write-and-verify."""
