"""The shipped device models by name, and :func:`get_device`: the :class:`Device` of a model name.

``linear_ion_drift`` and ``vteam`` have closed-form read conductances
(:mod:`memcosim.devices.conductance`); ``jart_vcm``, ``jart_v1b``, ``stanford_pku`` and ``sky130_reram`` declare their ON side and get
their read conductance from an ngspice table (:mod:`memcosim.cosim.device_table`). Any other
Verilog-A model (``$MEMCOSIM_MODEL_PATH`` or a ``.va`` path) is a plain :class:`VerilogADevice`.
"""

from __future__ import annotations

from typing import Mapping

from memcosim.config.array import RESISTOR
from memcosim.devices.conductance import LinearIonDrift, Vteam
from memcosim.devices.device import Device, Resistor, VerilogADevice
from memcosim.devices.registry import get_model
from memcosim.errors import ConfigError


class JartVcm(VerilogADevice):
    """JART-style filamentary switching, simplified after JART VCM v1b (Bengel et al., IEEE TCAS-I 67(12),
    4618, 2020) with its own Schottky law and kinetics (gradual SET and RESET at 10 ns pulses); the
    published model is :class:`JartV1b`. The state is the disc's oxygen-vacancy concentration; ON
    (highest conductance) at ``xmax``."""

    on_at_xmax = True
    bound_parameters = {"nmin": "xmin", "nmax": "xmax"}

    def relations(self) -> list[tuple[tuple[str, ...], bool, str]]:
        p = self.parameters
        return (super().relations() + self.positive("rfil", "ldisc", "lcell", unit="m")
                + self.positive("T0", unit="K") + self.positive("xmin", unit="(1e26 m^-3)")
                + [(("ldisc", "lcell"), p["ldisc"] < p["lcell"], "the disc lies inside the switching layer: ldisc < lcell")])


class JartV1b(VerilogADevice):
    """JART VCM v1b, variability-aware (Bengel, Siemon, Cueppers, Hoffmann-Eifert, Hardtdegen, von
    Witzleben, Hellmich, Waser, Menzel, IEEE TCAS-I 67(12), 4618, 2020), from the published equations
    and parameter table: the state is the disc's oxygen-vacancy concentration (1e26 m^-3); ON (highest
    conductance) at ``xmax``. Its variability parameters are instance parameters: the bounds
    ``Ndiscmin`` / ``Ndiscmax`` (0 stands for ``xmin`` / ``xmax``), the disc length ``lnew`` (nm) and
    the filament radius ``rnew`` (m)."""

    on_at_xmax = True
    bound_parameters = {"Ndiscmin": "xmin", "Ndiscmax": "xmax"}

    def relations(self) -> list[tuple[tuple[str, ...], bool, str]]:
        p = self.parameters
        return (super().relations() + self.positive("rnew", "rdet", unit="m") + self.positive("lnew", "lcell", unit="nm")
                + self.positive("T0", unit="K") + self.positive("xmin", unit="(1e26 m^-3)")
                + [(("lnew", "lcell"), p["lnew"] < p["lcell"], "the disc lies inside the cell: lnew < lcell (nm)")])


class StanfordPku(VerilogADevice):
    """Stanford-PKU HfOx RRAM (Jiang et al., IEEE TED 63(5), 1884, 2016): the state is the filament gap
    (nm); ON (highest conductance, smallest gap) at ``xmin``."""

    on_at_xmax = False

    def relations(self) -> list[tuple[tuple[str, ...], bool, str]]:
        p = self.parameters
        return (super().relations() + self.positive("tox", "xmin", unit="nm") + self.positive("T0", unit="K")
                + [(("xmax", "tox"), p["xmax"] <= p["tox"], "the gap fits in the oxide: xmax <= tox (nm)")])


class Sky130Reram(VerilogADevice):
    """The SkyWater SKY130 ReRAM cell (``sky130_fd_pr_reram__reram_cell``, SkyWater's Stanford/PKU-line
    HfO2 model with SkyWater's parameters, google/skywater-pdk-libs-sky130_fd_pr_reram v2.0.3): the state is
    the filament thickness (nm; the gap is ``Tox`` minus it); ON (highest conductance) at ``xmax``."""

    on_at_xmax = True

    def relations(self) -> list[tuple[tuple[str, ...], bool, str]]:
        p = self.parameters
        return (super().relations() + self.positive("Tox", "Tfilament_ref", "a0", unit="m")
                + self.positive("xmin", unit="nm") + self.positive("Temperature_0", unit="K")
                + [(("xmax", "Tox"), p["xmax"] * 1e-9 < p["Tox"], "the filament fits in the oxide: xmax (nm) < Tox (m)"),
                   (("Tfilament_ref", "Tox"), p["Tfilament_ref"] < p["Tox"], "Tfilament_ref < Tox (m)")])


DEVICES: dict[str, type[VerilogADevice]] = {
    "jart_vcm": JartVcm,
    "jart_v1b": JartV1b,
    "stanford_pku": StanfordPku,
    "vteam": Vteam,
    "linear_ion_drift": LinearIonDrift,
    "sky130_reram": Sky130Reram,
}


def get_device(model: str, overrides: Mapping[str, float] | None = None) -> Device:
    """The device of ``model`` (a model name, a ``.va`` path or ``"resistor"``) with parameter ``overrides``.

    The Verilog-A module name (the file's stem) picks the implementation. Raises ModelError for an
    unknown model (naming the known ones) and ConfigError for overrides of a resistor.
    """
    if model == RESISTOR:
        if overrides:
            raise ConfigError("device_params", "resistor cells take no device parameters")
        return Resistor()
    found = get_model(model)
    return DEVICES.get(found.name, VerilogADevice)(found, overrides)


def closed_form_models() -> list[str]:
    """Names of the shipped models with a closed-form read conductance."""
    return sorted(name for name, kind in DEVICES.items() if kind.closed_form)
