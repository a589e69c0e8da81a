"""A local Slack simulator at the HTTP level, plus a driver that acts as users.

    from sandbox.slack_sim import SlackSim

    with SlackSim() as sim:
        sim.seed_demo()
        client = WebClient(token=sim.bot_token, base_url=sim.api_url)
        ...
        result = sim.driver(events_url="http://127.0.0.1:3000/slack/events").slash("U0ALICE", "C0OPS", "/minio health")

See `sim.SlackSim` for the Python API and `server` for the HTTP routes.
"""

from .blockkit import BlockKitError, validate_blocks, validate_message, validate_view
from .driver import AckResult, Forgery, SlackDriver, sign
from .faults import Fault
from .sim import DEMO_ONCALL_GROUP, DEMO_OPS_CHANNEL, DEMO_PLATFORM_CHANNEL, SlackSim
from .socket_mode import NoSocketConnection
from .state import CallRecord, Channel, Ephemeral, Message, SimFile, User, Usergroup, View

__all__ = [
    "DEMO_ONCALL_GROUP",
    "DEMO_OPS_CHANNEL",
    "DEMO_PLATFORM_CHANNEL",
    "AckResult",
    "BlockKitError",
    "CallRecord",
    "Channel",
    "Ephemeral",
    "Fault",
    "Forgery",
    "Message",
    "NoSocketConnection",
    "SimFile",
    "SlackDriver",
    "SlackSim",
    "User",
    "Usergroup",
    "View",
    "sign",
    "validate_blocks",
    "validate_message",
    "validate_view",
]
