"""``memcosim netlist`` and ``memcosim validate-periphery``: the circuit designer's commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from memcosim.errors import ConfigError
from memcosim.fileio import writable_file, writable_folder

_BLOCKS = ("dac", "tia", "adc", "nudge", "programming")


def _periphery_from_flags(args: argparse.Namespace):
    from memcosim.config.pulse import PulseConfig
    from memcosim.config.periphery import (AdcConfig, DacConfig, NudgeConfig, PeripheryConfig,
                                           ProgrammingConfig, TiaConfig)

    spec = args.periphery.strip().lower()
    if spec in ("", "none"):
        blocks: list[str] = []
    elif spec == "full":
        blocks = list(_BLOCKS)
    else:
        blocks = [b.strip() for b in spec.split(",") if b.strip()]
        for b in blocks:
            if b not in _BLOCKS:
                raise ConfigError("periphery", f"unknown block {b!r}; use none, full or a list of {', '.join(_BLOCKS)}")
    if not blocks:
        return None
    return PeripheryConfig(
        dac=DacConfig(bits=args.dac_bits, v_max=args.dac_v_max, r_out=args.dac_r_out) if "dac" in blocks else None,
        tia=TiaConfig(gain=args.tia_gain, r_feedback=args.tia_rf) if "tia" in blocks else None,
        adc=AdcConfig(bits=args.adc_bits) if "adc" in blocks else None,
        nudge=NudgeConfig() if "nudge" in blocks else None,
        programming=ProgrammingConfig(args.scheme, PulseConfig(amplitude=args.write_voltage)) if "programming" in blocks else None,
    )


def config_from_args(args: argparse.Namespace):
    """The crossbar config named by ``--config FILE`` or assembled from the flags."""
    from memcosim.circuits.config_file import load_config
    from memcosim.circuits.crossbar import check_array
    from memcosim.config.array import RESISTOR, ArrayConfig, DeviceConfig, WireConfig

    if args.config:
        return load_config(args.config)
    model = args.model
    if model.endswith(".va"):  # a user's file: saved configs name it by its full path
        model = str(Path(model).resolve())
    conductance = args.conductance
    if model == RESISTOR and conductance is None:
        conductance = 1e-4
    config = ArrayConfig(
        args.rows, args.columns, DeviceConfig(model),
        WireConfig(r_row=args.r_row, r_column=args.r_column, c_row=args.c_row, c_column=args.c_column,
                   r_driver=args.r_driver),
        cell=args.cell, differential=args.differential, conductance=conductance, states=args.state,
        variation=args.variation, seed=args.seed, periphery=_periphery_from_flags(args),
    )
    check_array(config)
    return config


def _cmd_netlist(args: argparse.Namespace) -> int:
    """Write one crossbar netlist (validated, structure-checked) into the output folder."""
    from memcosim.circuits.config_file import config_to_toml
    from memcosim.circuits.crossbar import build_crossbar
    from memcosim.circuits.emit import default_name, output_path, write_netlist
    from memcosim.fileio import atomic_write_text

    config = config_from_args(args)
    name = args.out or (Path(args.config).with_suffix(".cir").name if args.config else default_name(config))
    writable_folder("--out-dir", args.out_dir)
    path = writable_file("--out", output_path(args.out_dir, name))
    xbar = build_crossbar(config)
    write_netlist(xbar, path)
    print(f"wrote {path} ({len(xbar.netlist.elements)} elements, {config.rows}x{config.columns} "
          f"{config.cell} {config.device.model})")
    if args.save_config:
        toml_path = atomic_write_text(path.with_suffix(".toml"), config_to_toml(config))
        print(f"wrote {toml_path}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    """Run the designer views on a config with ngspice; print the summary, write PNG + CSV."""
    from memcosim.circuits.config_file import load_config
    from memcosim.cosim.periphery_views import print_summary, run_views

    config = load_config(args.config)
    if args.points < 2:
        raise ConfigError("points", f"must be >= 2, got {args.points}")
    out = writable_folder("--out", args.out)
    views = run_views(config, out, points=args.points)
    print_summary(views)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the circuit commands to the ``memcosim`` parser."""
    p = subparsers.add_parser("netlist", help="write a crossbar netlist (flags or --config FILE.toml)")
    p.add_argument("--config", help="TOML config file (the flags below are then ignored)")
    p.add_argument("--rows", type=int, default=4, help="array rows (default 4)")
    p.add_argument("--columns", type=int, default=4, help="array columns (default 4)")
    p.add_argument("--model", default="resistor", help="'resistor', a device model from verilog_a/ or a .va file")
    p.add_argument("--cell", default="1R", help="1R or 1T1R")
    p.add_argument("--differential", action="store_true", help="pair columns (2k, 2k+1) as +/- of a signed weight")
    p.add_argument("--conductance", type=float, help="cell conductance (S); target conductance for a device model")
    p.add_argument("--state", type=float, help="initial device state (model state units)")
    p.add_argument("--r-row", type=float, default=0.0, help="ohm per row wire segment")
    p.add_argument("--r-column", type=float, default=0.0, help="ohm per column wire segment")
    p.add_argument("--r-driver", type=float, default=0.0, help="row driver output resistance (ohm)")
    p.add_argument("--c-row", type=float, default=0.0, help="farad per row wire segment to ground")
    p.add_argument("--c-column", type=float, default=0.0, help="farad per column wire segment to ground")
    p.add_argument("--variation", type=float, default=0.0, help="relative device-to-device spread")
    p.add_argument("--seed", type=int, default=0, help="seed of the device-to-device variation and faults")
    p.add_argument("--periphery", default="none", help="none, full, or a comma list of dac,tia,adc,nudge,programming")
    p.add_argument("--dac-bits", type=int, default=8, help="DAC resolution (bits)")
    p.add_argument("--dac-v-max", type=float, default=0.2, help="DAC full scale (V)")
    p.add_argument("--dac-r-out", type=float, default=100.0, help="DAC output resistance (ohm)")
    p.add_argument("--tia-gain", type=float, default=1e5, help="op-amp open-loop gain (V/V)")
    p.add_argument("--tia-rf", type=float, default=10e3, help="TIA feedback resistance (ohm)")
    p.add_argument("--adc-bits", type=int, default=8, help="ADC resolution (bits)")
    p.add_argument("--scheme", default="V/2", help="write scheme: V/2, V/3 or ground")
    p.add_argument("--write-voltage", type=float, default=1.0, help="write pulse amplitude (V)")
    p.add_argument("--out", help="file name inside the output folder (default from the config)")
    p.add_argument("--out-dir", default="netlists", help="output folder (default netlists/)")
    p.add_argument("--save-config", action="store_true", help="also write the config as TOML next to the netlist")
    p.set_defaults(func=_cmd_netlist)

    p = subparsers.add_parser("validate-periphery",
                              help="designer views of a config from ngspice runs (PNG + CSV) and a summary")
    p.add_argument("config", help="TOML config file")
    p.add_argument("--out", default="out/periphery", help="folder for the PNG and CSV files")
    p.add_argument("--points", type=int, default=256,
                   help="most DAC codes swept (ADC: 4x as many points); each is one operating point")
    p.set_defaults(func=_cmd_validate)
