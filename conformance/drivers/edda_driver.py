"""Drive Edda (edda-framework 0.16.2) through its public API, for the conformance suite.

Runs inside Edda's own virtual environment and never imports romancy. Commands:

    migrate   --db URL   apply Edda's bundled dbmate migrations with Edda's own migrator;
                         prints one JSON object
    start     --db URL   start an EddaApp on the database, then shut it down; prints one
                         JSON object
    crosstest <flags>    the crosstest program's flags, stdout JSON, stderr logs and exit
                         codes (see ``crosstest/cli.py``), with Edda as the runtime

The crosstest workflows are named ``edda_crosstest_*``: no other runtime sharing the
database registers those names, so none of them resumes Edda's instances.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def _load_program() -> ModuleType:
    """The crosstest contract shared with our own program (``crosstest/program.py``):
    its command line and its output shapes.

    It needs only the standard library, so Edda's interpreter loads it by its path, which is
    the same relative to this file in a checkout and in the installed package; importing it
    as part of romancy would need romancy's own dependencies in Edda's venv.
    """
    path = Path(__file__).resolve().parents[2] / "crosstest" / "program.py"
    spec = importlib.util.spec_from_file_location("crosstest_program", path)
    assert spec is not None and spec.loader is not None, f"no crosstest program at {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


program = _load_program()

log = logging.getLogger("edda-crosstest")

#: How much longer than its receive timeout a subscriber is waited for: Go's crosstest
#: allows 10 s; Edda notices expired receives only every 10 s, so 25 s here.
EDDA_TIMEOUT_LAG = 25


async def _migrate(db: str) -> dict[str, object]:
    from edda.storage.sqlalchemy_storage import SQLAlchemyStorage
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import create_async_engine

    # Edda gives up (after 1 s, without an error) when its migration lock is held, and the
    # MySQL lock is server-wide: a migration of any other database on the server makes
    # this one end half-done (docs/compat.md, "Edda's impatient lock"). Retry until it completes.
    attempts = 10
    for attempt in range(1, attempts + 1):
        storage = SQLAlchemyStorage(create_async_engine(db))
        try:
            await storage.initialize()
        except DBAPIError as error:
            if "exist" not in str(error) or attempt == attempts:
                raise
            await asyncio.sleep(0.5)
            continue
        finally:
            await storage.close()
        return {"ok": True, "attempts": attempt}
    raise AssertionError("the loop returns or raises")


async def _start(db: str) -> dict[str, object]:
    from edda import EddaApp

    app = EddaApp(service_name="romancy-conformance", db_url=db)
    await app.initialize()
    worker = app.worker_id
    await app.shutdown()
    return {"ok": True, "worker_id": worker}


# ---------------------------------------------------------------------------- crosstest


def _define_workflows() -> dict[str, Any]:
    """The crosstest workflows, written against Edda's public API."""
    import edda
    from edda.channels import ChannelModeConflictError

    # Edda suspends by raising exceptions, so only its real failures are caught here.
    failures = (ChannelModeConflictError, ValueError, RuntimeError)

    @edda.workflow
    async def edda_crosstest_subscriber(
        ctx: Any,
        channel: str,
        timeout_seconds: int,
        channel_mode: str,
        message_type: str,
        recur: int | None = None,
        messages: list[Any] | None = None,
    ) -> dict[str, Any]:
        try:
            await edda.subscribe(ctx, channel, channel_mode or "broadcast")
            message = await edda.receive(ctx, channel, timeout_seconds=timeout_seconds)
        except TimeoutError:
            return program.timed_out()
        except failures as error:  # the crosstest contract reports, never fails
            return program.not_received(str(error))
        if recur is None:
            return program.received(message.data, message.metadata)
        # --recur: Edda's recur starts a new instance (continued_from) with these arguments.
        so_far = [*(messages or []), message.data]
        if recur > 0:
            await ctx.recur(
                channel=channel,
                timeout_seconds=timeout_seconds,
                channel_mode=channel_mode,
                message_type=message_type,
                recur=recur - 1,
                messages=so_far,
            )
        return program.received(message.data, message.metadata, so_far)

    @edda.workflow
    async def edda_crosstest_event_waiter(
        ctx: Any, event_type: str, timeout_seconds: int, channel_mode: str
    ) -> dict[str, Any]:
        try:
            event = await edda.wait_event(ctx, event_type, timeout_seconds=timeout_seconds)
        except TimeoutError:
            return program.timed_out()
        return program.event_received(
            event.data, event.id, event.type, event.source, event.extensions
        )

    @edda.workflow
    async def edda_crosstest_publisher(
        ctx: Any, channel: str, text: str, data: Any, metadata: Any
    ) -> dict[str, Any]:
        try:
            await edda.publish(ctx, channel, program.sent_message(text, data), metadata=metadata)
        except failures as error:
            return program.send_result("published", str(error))
        return program.send_result("published")

    @edda.workflow
    async def edda_crosstest_send_to(
        ctx: Any, target_instance_id: str, channel: str, text: str, data: Any, metadata: Any
    ) -> dict[str, Any]:
        try:
            await edda.send_to(
                ctx,
                target_instance_id,
                program.sent_message(text, data),
                channel=channel,
                metadata=metadata,
            )
        except failures as error:
            return program.send_result("sent", str(error))
        return program.send_result("sent")

    return {
        "subscriber": edda_crosstest_subscriber,
        "event-waiter": edda_crosstest_event_waiter,
        "publisher": edda_crosstest_publisher,
        "send-to": edda_crosstest_send_to,
    }


def _crosstest(argv: list[str]) -> int:
    # Edda names its workers itself; the flag is accepted for the same command lines.
    parser = program.build_parser("edda_driver crosstest", "Hello from Edda!", "edda-crosstest")
    return program.run_program(parser, argv, _crosstest_run, quiet_logger="edda")


async def _crosstest_run(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.mode == "serve":
        await _serve(args)
        return None
    return await _run(args)


def _app(db: str) -> Any:
    from edda import EddaApp

    # A short lease: crosstest processes come and go, and Edda's leader-only checks
    # (receive timeouts every 10 s) stop while a departed leader's lease runs out.
    return EddaApp(
        service_name="edda-crosstest",
        db_url=db,
        leader_heartbeat_interval=1,
        leader_lease_duration=3,
    )


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    workflows = _define_workflows()
    kwargs, wait = program.workflow_spec(args, EDDA_TIMEOUT_LAG)
    app = _app(args.db)
    await app.initialize()
    try:
        workflow = workflows[args.mode]
        log.info("Starting %s workflow...", workflow.name)
        instance_id = await _start_workflow(workflow, kwargs)
        log.info("%s instance started: %s", workflow.name, instance_id)
        return await _result(app, instance_id, wait)
    finally:
        await app.shutdown()
        await _release_leftover_locks(args.db, app.worker_id)


async def _release_leftover_locks(db: str, worker_id: str) -> None:
    """Hand back the instances this worker still holds.

    Edda's resumer runs the workflows it picks up in tasks its shutdown does not stop;
    the process exits with their locks held, and no Edda worker takes them again before
    the lease (300 s) and the next stale-lock sweep (every 60 s) have passed.
    What a clean shutdown would do, done after Edda's.
    """
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    # SQLite: wait for the write lock like the other programs do, instead of failing.
    options = {"connect_args": {"timeout": 30}} if db.startswith("sqlite") else {}
    engine = create_async_engine(db, **options)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE workflow_instances SET locked_by = NULL, locked_at = NULL, "
                    "lock_expires_at = NULL WHERE locked_by = :worker"
                ),
                {"worker": worker_id},
            )
    except Exception as error:  # best effort: the locks then expire as Edda's would
        log.warning("could not hand back the locks of %s: %s", worker_id, error)
    finally:
        await engine.dispose()


async def _start_workflow(workflow: Any, kwargs: dict[str, Any]) -> str:
    """Start an instance, stepping around two races inside Edda itself.

    * Edda registers the definition with a check-then-insert, so two programs starting
      the same workflow at once collide on its key; the loser retries (the definition
      exists by then).
    * Edda commits the new instance as ``running`` and unlocked, then locks it in a
      second transaction; in between, the resumer of any Edda worker on the database may
      take it, and ``start`` raises "Failed to acquire
      lock". The instance exists and that worker runs it: its result is waited for.
    """
    from sqlalchemy.exc import IntegrityError

    for attempt in range(3):
        try:
            return str(await workflow.start(**kwargs))
        except IntegrityError as error:
            if "workflow_definitions" not in str(error) or attempt == 2:
                raise
            await asyncio.sleep(0.2)
        except RuntimeError as error:
            taken = _LOCK_RACE.fullmatch(str(error))
            if taken is None:
                raise
            log.info("instance %s was taken by another Edda worker's resumer", taken[1])
            return taken[1]
    raise AssertionError("the loop returns or raises")


_LOCK_RACE = re.compile(r"Failed to acquire lock for instance (\S+)")


async def _result(app: Any, instance_id: str, wait: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while loop.time() < deadline:
        instance = await app.storage.get_instance(instance_id)
        status = instance["status"] if instance else None
        if status == "recurred":
            # The result is the last instance's of the chain its recur calls started.
            instance_id = await _successor(app, instance_id) or instance_id
        if status == "completed":
            output = instance["output_data"]
            return output.get("result") if isinstance(output, dict) else output  # type: ignore[no-any-return]
        if status in ("failed", "cancelled"):
            raise RuntimeError(f"workflow {status}: {instance.get('output_data')}")
        await asyncio.sleep(0.1)
    raise RuntimeError(program.NO_RESULT)


async def _successor(app: Any, instance_id: str) -> str | None:
    """The instance Edda's recur started from ``instance_id``, once it exists."""
    from sqlalchemy import text

    async with app.storage.engine.connect() as conn:
        found = await conn.scalar(
            text("SELECT instance_id FROM workflow_instances WHERE continued_from = :id"),
            {"id": instance_id},
        )
    return str(found) if found is not None else None


async def _serve(args: argparse.Namespace) -> None:
    """Edda's ASGI app (its CloudEvent endpoint) on 127.0.0.1 until terminated."""
    import uvicorn

    _define_workflows()
    config = uvicorn.Config(
        _app(args.db), host="127.0.0.1", port=args.port, lifespan="on", log_level="warning"
    )
    log.info("serving on 127.0.0.1:%d", args.port)
    await uvicorn.Server(config).serve()
    return None


def main() -> int:
    if sys.argv[1:2] == ["crosstest"]:
        return _crosstest(sys.argv[2:])
    parser = argparse.ArgumentParser(prog="edda_driver")
    parser.add_argument("command", choices=["migrate", "start", "crosstest"])
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    handler = {"migrate": _migrate, "start": _start}[args.command]
    result = asyncio.run(handler(args.db))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
