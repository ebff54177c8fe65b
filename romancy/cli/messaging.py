"""``romancy event``, ``romancy cancel`` (over HTTP, as Go's CLI) and ``romancy publish``."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from romancy.channels import publish
from romancy.cli.options import add_database_flag, database_url
from romancy.errors import ConfigurationError, RomancyError

DEFAULT_URL = "http://localhost:8080"


def register(subcommands: Any) -> None:
    event = subcommands.add_parser(
        "event",
        help="send a CloudEvent to a running App, targeted at one instance",
        description="POST a structured CloudEvent with romancyinstanceid to an App's endpoint.",
    )
    event.add_argument("instance_id")
    event.add_argument("event_type")
    event.add_argument("json_data", metavar="JSON")
    event.add_argument(
        "--url", default=DEFAULT_URL, help="the App's HTTP endpoint (default: %(default)s)"
    )
    event.add_argument(
        "--source", default="romancy-cli", help="CloudEvent source (default: %(default)s)"
    )
    add_database_flag(event)  # accepted for compatibility with Go's CLI; unused
    event.set_defaults(handler=run_event)

    cancel = subcommands.add_parser(
        "cancel", help="cancel a workflow instance through a running App's endpoint"
    )
    cancel.add_argument("instance_id")
    cancel.add_argument(
        "--url", default=DEFAULT_URL, help="the App's HTTP endpoint (default: %(default)s)"
    )
    cancel.add_argument("--reason", default="", help="why (passed to the cancellation hooks)")
    add_database_flag(cancel)  # accepted for compatibility with Go's CLI; unused
    cancel.set_defaults(handler=run_cancel)

    pub = subcommands.add_parser(
        "publish",
        help="publish a channel message straight into the database",
        description="Publish a JSON object to a channel; waiting subscribers of any runtime wake.",
    )
    pub.add_argument("channel")
    pub.add_argument("json_data", metavar="JSON")
    pub.add_argument("--metadata", metavar="JSON", help="a JSON object of metadata")
    add_database_flag(pub)
    pub.set_defaults(handler=run_publish)


async def run_event(args: argparse.Namespace) -> int:
    data = _json_argument(args.json_data, "JSON data")
    envelope = {
        "specversion": "1.0",
        "type": args.event_type,
        "source": args.source,
        "id": f"cli-{time.time_ns()}",
        "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
        "romancyinstanceid": args.instance_id,
    }
    body = await _post(args.url.rstrip("/") + "/", envelope)
    print("✓ Event sent successfully")
    print(f"  Instance:   {args.instance_id}")
    print(f"  Event Type: {args.event_type}")
    print(f"  Response:   {body}")
    return 0


async def run_cancel(args: argparse.Namespace) -> int:
    payload = {"reason": args.reason} if args.reason else None
    await _post(f"{args.url.rstrip('/')}/cancel/{args.instance_id}", payload)
    print(f"✓ Workflow cancelled: {args.instance_id}")
    return 0


async def run_publish(args: argparse.Namespace) -> int:
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
