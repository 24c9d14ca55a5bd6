"""Periphery blocks of an array, behind one interface (:mod:`.base`): row DAC (:mod:`.dac`), row driver
and programming driver (:mod:`.drivers`), column TIA (:mod:`.tia`), column ADC (:mod:`.adc`), nudge
source (:mod:`.nudge`) and the 1T1R access device (:mod:`.access`); :mod:`.blocks` holds one array's
set of blocks. Their settings are in :mod:`memcosim.config.periphery`."""
