"""The spiking wing: integrate-and-fire neurons (snntorch), phase and rate coding, the conv encoder."""
from .coding import phase_encode, rate_encode
from .encoder import SpikingConvEncoder
from .neurons import IFNeuron

__all__ = ["IFNeuron", "SpikingConvEncoder", "phase_encode", "rate_encode"]
