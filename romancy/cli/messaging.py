"""``romancy event``, ``romancy cancel`` (over HTTP, as Go's CLI) and ``romancy publish``."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from romancy.channels import publish
from romancy.cli.options import add_command, add_database_flag, database_url
from romancy.cloudevent import JSON_CONTENT_TYPE, ROMANCY_TARGET, SPECVERSION
from romancy.errors import ConfigurationError, RomancyError
from romancy.serialization import format_time

DEFAULT_URL = "http://localhost:8080"


def register(subcommands: Any) -> None:
    event = add_command(subcommands, "event", run_event)
    event.add_argument("instance_id", metavar="INSTANCE_ID")
    event.add_argument("event_type", metavar="EVENT_TYPE")
    event.add_argument("json_data", metavar="JSON", help="the event's data, e.g. '{\"ok\": true}'")
    _url_flag(event)
    event.add_argument(
        "--source", default="romancy-cli", help="CloudEvent source (default: %(default)s)"
    )

    cancel = add_command(subcommands, "cancel", run_cancel)
    cancel.add_argument("instance_id", metavar="INSTANCE_ID")
    _url_flag(cancel)
    cancel.add_argument("--reason", default="", help="why (passed to the cancellation hooks)")

    pub = add_command(subcommands, "publish", run_publish)
    pub.add_argument("channel", metavar="CHANNEL")
    pub.add_argument("json_data", metavar="JSON", help="the message: a JSON object")
    pub.add_argument("--metadata", metavar="JSON", help="a JSON object of metadata")
    add_database_flag(pub)


def _url_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", default=DEFAULT_URL, help="the App's HTTP endpoint (default: %(default)s)"
    )


async def run_event(args: argparse.Namespace) -> int:
    """send a CloudEvent to a running App, targeted at one instance

    POST a CloudEvent of type EVENT_TYPE with JSON as its data to a running App's HTTP
    endpoint, targeted (romancyinstanceid) at the instance INSTANCE_ID, which
    receives it if it waits for that type. Talks HTTP only: no database needed.
    """
    data = _json_argument(args.json_data, "JSON data")
    envelope = {
        "specversion": SPECVERSION,
        "type": args.event_type,
        "source": args.source,
        "id": f"cli-{time.time_ns()}",
        "time": format_time(datetime.now(UTC)),
        "datacontenttype": JSON_CONTENT_TYPE,
        "data": data,
        ROMANCY_TARGET: args.instance_id,
    }
    url = args.url.rstrip("/") + "/"
    print(f"Accepted by {url}: {_delivery(await _post(url, envelope))}")
    print(f"  Instance:   {args.instance_id}")
    print(f"  Event type: {args.event_type}")
    return 0


def _delivery(body: str) -> str:
    """What the App says the event reached: its ``delivered`` count, when it sends one."""
    try:
        delivered = json.loads(body).get("delivered")
    except (ValueError, AttributeError):
        delivered = None
    if not isinstance(delivered, int) or isinstance(delivered, bool):
        return "delivery count unknown"
    if delivered == 0:
        return "stored; no instance was waiting for it"
    return f"reached {delivered} waiting instance{'' if delivered == 1 else 's'}"


async def run_cancel(args: argparse.Namespace) -> int:
    """cancel a workflow instance through a running App's endpoint

    Ask a running App (over HTTP, POST /cancel/INSTANCE_ID) to cancel the instance: it
    stops, its completed activities are compensated and the cancellation hooks run
    with --reason. Talks HTTP only: no database needed.
    """
    payload = {"reason": args.reason} if args.reason else None
    # The id is one path segment, whatever it holds ("/", "#", "?", "%", spaces).
    await _post(f"{args.url.rstrip('/')}/cancel/{quote(args.instance_id, safe='')}", payload)
    print(f"✓ Workflow cancelled: {args.instance_id}")
    return 0


async def run_publish(args: argparse.Namespace) -> int:
    """publish a channel message straight into the database

    Publish a JSON object to a channel; waiting subscribers of any runtime wake.
    """
    data = _json_argument(args.json_data, "JSON data")
    metadata = _json_argument(args.metadata, "--metadata") if args.metadata else None
    if metadata is not None and not isinstance(metadata, dict):
        raise ConfigurationError("--metadata must be a JSON object")
    message_id = await publish(database_url(args), args.channel, data, metadata=metadata)
    print(f"✓ Published {message_id} to {args.channel}")
    return 0


def _json_argument(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"invalid {what}: {error}") from None


async def _post(url: str, payload: Any) -> str:
    async with httpx.AsyncClient(timeout=30.0) as client:
        try:
            response = (
                await client.post(url, json=payload)
                if payload is not None
                else await client.post(url)
            )
        except httpx.HTTPError as error:
            raise RomancyError(f"cannot reach {url}: {error}") from None
    if response.status_code >= 400:
        raise RomancyError(f"server returned error {response.status_code}: {response.text.strip()}")
    return response.text.strip()
