"""Keys of memcosim's TOML files that were renamed, with where their values live now.

Reading an old file moves each old key to its new place with a
:class:`~memcosim.config.toml.ConfigWarning` that names the old key, its line and the new key.
"""

from __future__ import annotations

from memcosim.config.toml import Rename

# crossbar config files (memcosim netlist --config FILE): flat array keys -> [device] and [wires]
ARRAY = (
    Rename("model", ("device.model",)),
    Rename("device_params", ("device.params",)),
    Rename("r_row", ("wires.r_row",)),
    Rename("r_column", ("wires.r_column",)),
    Rename("r_driver", ("wires.r_driver",)),
    Rename("c_row", ("wires.c_row",)),
    Rename("c_column", ("wires.c_column",)),
    Rename("periphery.programming.amplitude", ("periphery.programming.pulse.amplitude",)),
    Rename("periphery.programming.width", ("periphery.programming.pulse.width",)),
    Rename("periphery.programming.rise", ("periphery.programming.pulse.rise",)),
)

# training run files (memcosim train FILE)
RUN = (
    Rename("network.programming.amplitude", ("network.programming.pulse.amplitude",)),
    Rename("network.programming.width", ("network.programming.pulse.width",)),
    Rename("network.programming.rise", ("network.programming.pulse.rise",)),
)
