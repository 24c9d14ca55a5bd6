"""``memcosim netlist`` and ``memcosim validate-periphery``: the circuit designer's commands."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from memcosim import fields as f
from memcosim.circuits import sky130
from memcosim.circuits.config_file import config_to_toml, load_config
from memcosim.circuits.crossbar import build_crossbar, check_array
from memcosim.circuits.emit import default_name, output_path, write_array_subckt, write_netlist
from memcosim.config.blocks import PDKS
from memcosim.config.array import RESISTOR, ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig, NudgeConfig, PeripheryConfig, ProgrammingConfig, TiaConfig
from memcosim.config.pulse import PulseConfig
from memcosim.cosim.periphery_views import SETTLING_SIZES, WIRE_CAPACITANCES, print_summary, run_views
from memcosim.errors import ConfigError
from memcosim.fileio import atomic_write_text, writable_file, writable_folder
from memcosim.limits import MAX_CELLS, estimate, max_cells

_BLOCKS = ("dac", "tia", "adc", "nudge", "programming")
# the array flags of ``memcosim netlist``: (type, default, help); None = not given on the command line
ARRAY_FLAGS: dict[str, tuple[type, object, str]] = {
    "--rows": (int, 4, "array rows"),
    "--columns": (int, 4, "array columns"),
    "--model": (str, "resistor", "'resistor', a device model from verilog_a/ or a .va file"),
    "--cell": (str, "1R", "1R or 1T1R"),
    "--differential": (bool, False, "pair columns (2k, 2k+1) as +/- of a signed weight"),
    "--conductance": (float, None, "cell conductance (S); target conductance for a device model"),
    "--state": (float, None, "initial device state (model state units)"),
    "--r-row": (float, 0.0, "ohm per row wire segment"),
    "--r-column": (float, 0.0, "ohm per column wire segment"),
    "--r-driver": (float, 0.0, "row driver output resistance (ohm)"),
    "--c-row": (float, 0.0, "farad per row wire segment to ground"),
    "--c-column": (float, 0.0, "farad per column wire segment to ground"),
    "--variation": (float, 0.0, "relative device-to-device spread"),
    "--seed": (int, 0, "seed of the device-to-device variation"),
    "--periphery": (str, "none", "none, full, or a comma list of dac,tia,adc,nudge,programming"),
    "--dac-bits": (int, 8, "DAC resolution (bits; needs the dac block)"),
    "--dac-v-max": (float, 0.2, "DAC full scale (V; needs the dac block)"),
    "--dac-r-out": (float, 100.0, "DAC output resistance (ohm; needs the dac block)"),
    "--tia-gain": (float, 1e5, "op-amp open-loop gain (V/V; needs the tia block)"),
    "--tia-rf": (float, 10e3, "TIA feedback resistance (ohm; needs the tia block)"),
    "--adc-bits": (int, 8, "ADC resolution (bits; needs the adc block)"),
    "--scheme": (str, "V/2", "write scheme: V/2, V/3 or ground (needs the programming block)"),
    "--write-voltage": (float, 1.0, "write pulse amplitude (V; needs the programming block)"),
}
_BLOCK_FLAGS = {"dac": ("--dac-bits", "--dac-v-max", "--dac-r-out"), "tia": ("--tia-gain", "--tia-rf"),
                "adc": ("--adc-bits",), "programming": ("--scheme", "--write-voltage")}


def _given(args: argparse.Namespace) -> list[str]:
    """The array flags given on the command line."""
    return [flag for flag in ARRAY_FLAGS if getattr(args, _dest(flag)) is not None]


def _dest(flag: str) -> str:
    return flag[2:].replace("-", "_")


def _flag(args: argparse.Namespace, flag: str):
    """The value of an array flag: as given, else its default."""
    value = getattr(args, _dest(flag))
    return ARRAY_FLAGS[flag][1] if value is None else value


def _periphery_from_flags(args: argparse.Namespace):
    spec = _flag(args, "--periphery").strip().lower()
    if spec in ("", "none"):
        blocks: list[str] = []
    elif spec == "full":
        blocks = list(_BLOCKS)
    else:
        blocks = [b.strip() for b in spec.split(",") if b.strip()]
        for b in blocks:
            if b not in _BLOCKS:
                raise ConfigError("periphery", f"unknown block {b!r}; use none, full or a list of {', '.join(_BLOCKS)}")
    given = _given(args)
    for block, flags in _BLOCK_FLAGS.items():
        unused = [flag for flag in flags if flag in given]
        if unused and block not in blocks:
            raise ConfigError(unused[0], f"{' and '.join(unused)} cannot take effect without the {block} block: "
                                         f"add it with --periphery {block} (or full), or drop the flag")
    if not blocks:
        return None
    v = lambda flag: _flag(args, flag)  # noqa: E731
    return PeripheryConfig(
        dac=DacConfig(bits=v("--dac-bits"), v_max=v("--dac-v-max"), r_out=v("--dac-r-out")) if "dac" in blocks else None,
        tia=TiaConfig(gain=v("--tia-gain"), r_feedback=v("--tia-rf")) if "tia" in blocks else None,
        adc=AdcConfig(bits=v("--adc-bits")) if "adc" in blocks else None,
        nudge=NudgeConfig() if "nudge" in blocks else None,
        programming=(ProgrammingConfig(v("--scheme"), PulseConfig(amplitude=v("--write-voltage")))
                     if "programming" in blocks else None),
    )


def config_from_args(args: argparse.Namespace):
    """The crossbar config named by ``--config FILE`` or assembled from the flags."""
    if args.config:
        given = _given(args)
        if given:
            raise ConfigError(given[0], f"{', '.join(given)} cannot take effect with --config {args.config} (the file "
                                        "describes the whole array): edit the file, or drop --config")
        return load_config(args.config)
    v = lambda flag: _flag(args, flag)  # noqa: E731
    model = v("--model")
    if model.endswith(".va"):  # a user's file: saved configs name it by its full path
        model = str(Path(model).resolve())
    conductance = v("--conductance")
    if model == RESISTOR and conductance is None:
        conductance = 1e-4
    config = ArrayConfig(
        v("--rows"), v("--columns"), DeviceConfig(model),
        WireConfig(r_row=v("--r-row"), r_column=v("--r-column"), c_row=v("--c-row"), c_column=v("--c-column"),
                   r_driver=v("--r-driver")),
        cell=v("--cell"), differential=v("--differential"), conductance=conductance, states=v("--state"),
        variation=v("--variation"), seed=v("--seed"), periphery=_periphery_from_flags(args),
    )
    check_array(config)
    return config


def _cell(text: str, config) -> tuple[int, int]:
    """``ROW,COL`` of ``--write-cell`` as two indices inside the array."""
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ConfigError("write-cell", f"must be ROW,COL (two indices from 0), got {text!r}")
    row, column = (int(p) for p in parts)
    if row >= config.rows or column >= config.columns:
        raise ConfigError("write-cell", f"({row}, {column}) is outside the {config.rows}x{config.columns} array")
    return row, column


def _cmd_netlist(args: argparse.Namespace) -> int:
    """Write one crossbar netlist (validated, structure-checked) into the output folder."""
    with max_cells(f.integer("--max-cells", args.max_cells, 1)):
        config = config_from_args(args)
    name = args.out or (Path(args.config).with_suffix(".cir").name if args.config else default_name(config))
    writable_folder("--out-dir", args.out_dir)
    path = writable_file("--out", output_path(args.out_dir, name))
    memory, seconds = estimate(config.rows * config.columns, devices=not config.device.resistor)
    if seconds > 5:
        print(f"building {config.rows}x{config.columns}: about {seconds:.0f} s and {memory / 2**30:.1f} GiB", flush=True)
    cell = _cell(args.write_cell, config) if args.write_cell else None
    xbar = build_crossbar(config)
    if args.subckt:
        sub, bench = write_array_subckt(xbar, path.with_suffix(".sub"), args.subckt, cell)
        print(f"wrote {sub} (.subckt {args.subckt}, {config.rows}x{config.columns} {config.cell} "
              f"{config.device.model}) and its testbench {bench} (ngspice -b {bench.name})")
    else:
        write_netlist(xbar, path)
        print(f"wrote {path} ({len(xbar.netlist.elements)} elements, {config.rows}x{config.columns} "
              f"{config.cell} {config.device.model})")
    if args.save_config:
        toml_path = atomic_write_text(path.with_suffix(".toml"), config_to_toml(config))
        print(f"wrote {toml_path}")
    return 0


def _numbers(flag: str, text: str, kind: type) -> list:
    """The comma-separated numbers of ``text`` as ``kind``; ConfigError naming ``flag`` if one is not."""
    try:
        return [kind(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError(flag, f"must be comma-separated {kind.__name__} values, got {text!r}") from None


PDK_SIZE = 32  # rows = columns of the array validate-periphery --pdk builds when no config file is given


def pdk_default_config(size: int = PDK_SIZE) -> ArrayConfig:
    """The array ``validate-periphery --pdk`` checks without a config file: ``size`` x ``size`` cells of a
    known conductance pattern (5 .. 50 uS, seed 0), 1 ohm wire segments, every block (DAC, TIA, ADC,
    V/2 programming drivers at 1 V)."""
    g = np.random.default_rng(0).uniform(5e-6, 5e-5, (size, size))
    per = PeripheryConfig(dac=DacConfig(), tia=TiaConfig(r_feedback=10e3), adc=AdcConfig(),
                          programming=ProgrammingConfig("V/2", PulseConfig(amplitude=1.0)))
    return ArrayConfig(size, size, conductance=g, wires=WireConfig(r_row=1.0, r_column=1.0), periphery=per)


def _cmd_validate(args: argparse.Namespace) -> int:
    """Run the designer views on a config with ngspice; print the summary, write PNG + CSV."""
    if args.points < 2:
        raise ConfigError("points", f"must be >= 2, got {args.points}")
    if args.corner is not None and not args.pdk:
        raise ConfigError("--corner", "a process corner needs a PDK: add --pdk sky130")
    if args.config is None and not args.pdk:
        raise ConfigError("config", "give a TOML config file, or --pdk sky130 for the built-in 32x32 array")
    with max_cells(f.integer("--max-cells", args.max_cells, 1)):
        config = load_config(args.config) if args.config else pdk_default_config()
    if args.pdk:
        f.choice("--pdk", args.pdk, PDKS)
        config = sky130.pdk_array(config, args.corner or "tt", "--corner")
        print(f"--pdk {args.pdk}: {config.rows}x{config.columns} 1T1R array with the {sky130.ACCESS_DEVICE} access "
              f"device, transistor-level TIA{' and column switches' if config.periphery and config.periphery.switches else ''}"
              f" at corner {args.corner or 'tt'}", flush=True)
    out = writable_folder("--out", args.out)
    sizes = tuple(f.integer("--settling-sizes", v, 2) for v in _numbers("--settling-sizes", args.settling_sizes, int))
    capacitances = tuple(f.number("--wire-capacitances", v, low=0.0, low_open=True, unit="F")
                         for v in _numbers("--wire-capacitances", args.wire_capacitances, float))
    views = run_views(config, out, points=args.points, progress=lambda line: print(line, flush=True),
                      transients=args.transients, sizes=sizes, capacitances=capacitances)
    print_summary(views)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the circuit commands to the ``memcosim`` parser."""
    p = subparsers.add_parser("netlist", help="write a crossbar netlist (flags or --config FILE.toml)")
    p.add_argument("--config", help="TOML config file (then none of the array flags below may be given)")
    for flag, (kind, default, text) in ARRAY_FLAGS.items():
        if kind is bool:
            p.add_argument(flag, action="store_true", default=None, help=text)
        else:
            shown = "" if default is None else f" (default {default})"
            p.add_argument(flag, type=kind, default=None, help=text + shown)
    p.add_argument("--out", help="file name inside the output folder (default from the config)")
    p.add_argument("--out-dir", default="netlists", help="output folder (default netlists/)")
    p.add_argument("--save-config", action="store_true", help="also write the config as TOML next to the netlist")
    p.add_argument("--max-cells", type=int, default=MAX_CELLS,
                   help=f"largest array (rows x columns) to build (default {MAX_CELLS:,}): raise it deliberately")
    p.add_argument("--subckt", metavar="NAME",
                   help="write the array as .subckt NAME to <name>.sub (for .include; pins listed in its header) "
                        "and a testbench <name>_tb.cir that includes it, instead of the .cir")
    p.add_argument("--write-cell", metavar="ROW,COL",
                   help="cell the --subckt testbench writes with the programming scheme (default: the centre cell)")
    p.set_defaults(func=_cmd_netlist)

    p = subparsers.add_parser("validate-periphery",
                              help="designer views of a config from ngspice runs (PNG + CSV) and a summary")
    p.add_argument("config", nargs="?", default=None,
                   help=f"TOML config file (with --pdk and none: a built-in {PDK_SIZE}x{PDK_SIZE} array)")
    p.add_argument("--pdk", choices=PDKS, default=None,
                   help="put the array on a PDK: sky130 access transistors (1T1R), transistor-level TIAs, "
                        "column switches when it has programming drivers")
    p.add_argument("--corner", default=None, help="process corner of the PDK devices (sky130: tt ss ff sf fs; "
                                                  "default tt)")
    p.add_argument("--out", default="out/periphery", help="folder for the PNG and CSV files")
    p.add_argument("--points", type=int, default=256,
                   help="most DAC codes swept (ADC: 4x as many points); each is one operating point")
    p.add_argument("--transients", action="store_true",
                   help="also the transient views: read settling vs array size and wire capacitance, energy per "
                        "read by supply group, line voltages during V/2 and V/3 writes")
    p.add_argument("--settling-sizes", default=",".join(map(str, SETTLING_SIZES)),
                   help="array sizes (rows = columns) of the read-settling view, comma-separated")
    p.add_argument("--wire-capacitances", default=",".join(f"{c:g}" for c in WIRE_CAPACITANCES),
                   help="farads per wire segment of the read-settling view, comma-separated")
    p.add_argument("--max-cells", type=int, default=MAX_CELLS,
                   help=f"largest array (rows x columns) to simulate (default {MAX_CELLS:,}): raise it deliberately")
    p.set_defaults(func=_cmd_validate)
