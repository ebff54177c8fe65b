"""``romancy event``, ``cancel`` and ``publish`` against a real App over real HTTP."""

from __future__ import annotations

import asyncio
import re
import sys

import pytest

import romancy
from romancy import App, WorkflowContext
from tests.integration.engine.helpers import wait_for_status
from tests.support.http import serving


async def romancy_cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "romancy",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@romancy.workflow
async def cli_approval(ctx: WorkflowContext) -> object:
    await romancy.subscribe(ctx, "approval.response", romancy.ChannelMode.DIRECT)
    event = await romancy.wait_event(ctx, "approval.response")
    return {"data": event.data, "source": event.source}


@romancy.workflow
async def cli_listener(ctx: WorkflowContext) -> object:
    await romancy.subscribe(ctx, "cli-feed")
    return (await romancy.receive(ctx, "cli-feed")).data


@romancy.workflow
async def cli_sleeper(ctx: WorkflowContext) -> None:
    await romancy.sleep(ctx, 3600)


async def test_event_and_cancel_over_http(app: App) -> None:
    approval = await app.start_workflow(cli_approval)
    sleeper = await app.start_workflow(cli_sleeper)
    await wait_for_status(app, approval, "waiting_for_message")
    await wait_for_status(app, sleeper, "waiting_for_timer")
    async with serving(app.asgi()) as url:
        code, out, err = await romancy_cli(
            "event", approval, "approval.response", '{"approved": true}', "--url", url
        )
        assert code == 0, err
        assert "sent successfully" not in out
        assert re.search(r"^Accepted by .*: reached 1 waiting instance$", out, re.M), out
        assert await app.wait_for_result(approval, timeout=20) == {
            "data": {"approved": True},
            "source": "romancy-cli",
        }
        code, out, err = await romancy_cli("event", "nope", "approval.decided", "{}", "--url", url)
        assert code == 0, err
        assert "sent successfully" not in out
        assert re.search(r"^Accepted by .*: stored; no instance was waiting for it$", out, re.M), (
            out
        )
        code, out, err = await romancy_cli("cancel", sleeper, "--url", url, "--reason", "cli")
        assert (code, out.strip()) == (0, f"✓ Workflow cancelled: {sleeper}")
        code, _, err = await romancy_cli("cancel", "no-such-id", "--url", url)
        assert code == 1 and "server returned error 404" in err
    with pytest.raises(romancy.WorkflowCancelledError, match="cli"):
        await app.wait_for_result(sleeper, timeout=5)


async def test_publish_into_the_database(app: App) -> None:
    listener = await app.start_workflow(cli_listener)
    await wait_for_status(app, listener, "waiting_for_message")
    code, out, err = await romancy_cli(
        "publish",
        "cli-feed",
        '{"n": 7}',
        "--metadata",
        '{"via": "cli"}',
        "--db",
        app.storage.url.original,
    )
    assert code == 0, err
    assert out.startswith("✓ Published ")
    assert await app.wait_for_result(listener, timeout=30) == {"n": 7}
    code, _, err = await romancy_cli(
        "publish", "cli-feed", "{broken", "--db", app.storage.url.original
    )
    assert (code, err.startswith("Error: invalid JSON data")) == (1, True)
    code, _, err = await romancy_cli("event", "x", "t", "{}", "--url", "http://127.0.0.1:1")
    assert code == 1 and "cannot reach" in err


async def test_cancel_an_instance_whose_id_needs_quoting(app: App) -> None:
    # "#" and "?" would end the URL path, "%41" would reach the App as "A", a space is no
    # URL character: the id must travel as one percent-encoded path segment.
    instance_id = "order #7?x=%41 b"
    await app.start_workflow(cli_sleeper, instance_id=instance_id)
    await wait_for_status(app, instance_id, "waiting_for_timer")
    async with serving(app.asgi()) as url:
        code, out, err = await romancy_cli("cancel", instance_id, "--url", url)
    assert (code, out.strip()) == (0, f"✓ Workflow cancelled: {instance_id}"), err
    with pytest.raises(romancy.WorkflowCancelledError):
        await app.wait_for_result(instance_id, timeout=5)
