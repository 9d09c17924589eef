"""Moved to nzila_ops.integrations.uptimerobot.client (outside clients live in a room of their
own). Kept so that code importing the old path goes on working."""

from __future__ import annotations

from nzila_ops.integrations.uptimerobot.client import (
    FRIENDLY_NAME_PREFIX,
    HEALTHY_KEYWORD,
    Change,
    UptimeRobotClient,
    desired_monitors,
    sync_monitors,
    uptimerobot_config,
)

__all__ = [
    "FRIENDLY_NAME_PREFIX",
    "HEALTHY_KEYWORD",
    "Change",
    "UptimeRobotClient",
    "desired_monitors",
    "sync_monitors",
    "uptimerobot_config",
]
