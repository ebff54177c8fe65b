"""The transactional outbox: events queued with their step, sent by the relayer."""

from romancy.outbox.relayer import OutboxRelayer

__all__ = ["OutboxRelayer"]
