"""Accuracy studies: grids of hardware-aware training, deployment and ngspice evaluation, run on Dask."""
