"""BackFuture exchange simulator (dev/test only): MEXC and KuCoin wire formats, ccxt as client."""

from bf_sim.app import SimServer
from bf_sim.config import Conditions, KeyConfig, SimConfig, demo_config, load_config

__all__ = ["Conditions", "KeyConfig", "SimConfig", "SimServer", "demo_config", "load_config"]
