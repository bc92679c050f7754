"""A stateful Telegram Bot API simulator for testing group bots over real HTTP."""

from simulator.errors import BotApiError, SimulatorError
from simulator.faults import FaultKind
from simulator.flood import FloodLimits
from simulator.models import BotAccount, Call, UserAccount
from simulator.server import Simulator

__all__ = [
    "BotAccount",
    "BotApiError",
    "Call",
    "FaultKind",
    "FloodLimits",
    "Simulator",
    "SimulatorError",
    "UserAccount",
]
