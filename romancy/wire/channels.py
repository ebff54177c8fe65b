"""How channels are named in ``channel_messages`` and ``channel_subscriptions``."""

from __future__ import annotations


def direct_channel(channel: str, instance_id: str) -> str:
    """The stored channel of ``channel`` in direct mode for one instance.

    Every runtime names it ``"<channel>:<instance id>"``: ``send_to`` publishes there, a
    direct subscriber listens there, and a CloudEvent carrying ``romancyinstanceid`` is
    published there.
    """
    return f"{channel}:{instance_id}"
