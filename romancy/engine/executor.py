"""Running one activity call as a step: replay it from history, or execute it with its
retry policy and record the outcome (with its compensation) in the step's transaction."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from romancy import hooks as h
from romancy.engine.cancellation import stop_if_cancelling
from romancy.engine.definitions import ActivityDefinition, call_maybe_async, encode_arguments
from romancy.engine.session import activity_scope
from romancy.engine.signals import LostOwnership
from romancy.errors import (
    ActivityError,
    DuplicateRecordError,
    NonDeterminismError,
    RetryExhaustedError,
    SerializationError,
    TerminalError,
    is_terminal_error,
)
from romancy.retry import DEFAULT_RETRY_POLICY
from romancy.serialization import from_json, to_json
from romancy.storage import ActivitySession, HistoryRecord, Transaction
from romancy.wire import history as wire

if TYPE_CHECKING:
    from romancy.engine._context import Step, WorkflowContext


async def run_activity(
    ctx: WorkflowContext,
    activity: ActivityDefinition[Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    activity_id: str | None,
) -> Any:
    """Run (or replay) one call of ``activity`` as a step of the workflow ``ctx``."""
    step = ctx.begin_step(activity.name, activity_id)
    return await _Call(ctx, activity, args, kwargs, step).run()


class _Call:
    """One call of an activity inside a workflow."""

    def __init__(
        self,
        ctx: WorkflowContext,
        activity: ActivityDefinition[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        step: Step,
    ) -> None:
        self.ctx, self.activity, self.args, self.kwargs, self.step = (
            ctx,
            activity,
            args,
            kwargs,
            step,
        )
        self.what = f"activity {activity.name!r} in workflow {ctx.workflow_name!r}"

    @property
    def _input(self) -> Any:
        return self.args[0] if len(self.args) == 1 and not self.kwargs else (self.args, self.kwargs)

    def _info(self, cls: type[Any], **fields: Any) -> Any:
        return cls(
            instance_id=self.ctx.instance_id,
            workflow_name=self.ctx.workflow_name,
            activity_id=self.step.id,
            activity_name=self.activity.name,
            **fields,
        )

    async def run(self) -> Any:
        hooks = self.ctx.hooks
        if self.step.recorded is not None:
            return await self._replay(self.step.recorded)
        self.step.ensure_new_allowed()
        await h.emit(
            hooks.on_activity_start,
            self._info(h.ActivityStartInfo, input_data=self._input, is_replay=False),
        )
        self.ctx.log.new_activities += 1
        return await self._execute()

    async def _replay(self, record: HistoryRecord) -> Any:
        outcome = wire.read_step(record)
        if outcome.activity_name not in (None, self.activity.name):
            raise NonDeterminismError(
                f"workflow {self.ctx.workflow_name!r}: history records activity "
                f"{outcome.activity_name!r} under id {self.step.id!r}, but the code now "
                f"calls {self.activity.name!r} there"
            )
        hooks = self.ctx.hooks
        await h.emit(
            hooks.on_activity_start,
            self._info(h.ActivityStartInfo, input_data=self._input, is_replay=True),
        )
        if outcome.kind == "error":
            cause = ActivityError(outcome.error_type, outcome.error_message)
            if outcome.terminal:
                raise TerminalError(cause)
            raise RetryExhaustedError(self.activity.name, outcome.attempts, cause)
        result = from_json(outcome.result, self.activity.output_hint, what=f"result of {self.what}")
        await h.emit(
            hooks.on_activity_cache_hit,
            self._info(h.ActivityCacheHitInfo, cached_result=result),
        )
        return result

    async def _execute(self) -> Any:
        activity, ctx, hooks = self.activity, self.ctx, self.ctx.hooks
        policy = (
            activity.retry_policy or ctx.runtime.config.default_retry_policy or DEFAULT_RETRY_POLICY
        )
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            session = ActivitySession(ctx.storage)
            with activity_scope(session if activity.transactional else None):
                try:
                    result = await self._attempt()
                    encoded = to_json(result, what=f"result of {self.what}")
                except (asyncio.CancelledError, LostOwnership):
                    await session.rollback()
                    raise
                except Exception as error:
                    await session.rollback()
                    stop_if_cancelling(error)
                    terminal = is_terminal_error(error) or isinstance(error, SerializationError)
                    if terminal or not policy.should_retry(attempt, error):
                        failure = await self._fail(error, attempt, started, terminal)
                        if failure is error:
                            raise
                        raise failure from error
                    delay = policy.delay(attempt)
                    await h.emit(
                        hooks.on_activity_retry,
                        self._info(
                            h.ActivityRetryInfo,
                            attempt=attempt,
                            max_attempts=policy.max_attempts,
                            next_delay=timedelta(seconds=delay),
                            error=error,
                        ),
                    )
                    await asyncio.sleep(delay)
                    continue
                await self._record(session, encoded)
            await h.emit(
                hooks.on_activity_complete,
                self._info(
                    h.ActivityCompleteInfo,
                    output_data=result,
                    duration=timedelta(seconds=time.monotonic() - started),
                    is_replay=False,
                ),
            )
            return from_json(encoded, activity.output_hint, what=f"result of {self.what}")

    async def _attempt(self) -> Any:
        fn = self.ctx.runtime.activity_substitutes.get(self.activity.name, self.activity.fn)
        call = call_maybe_async(fn, self.ctx, *self.args, **self.kwargs)
        if self.activity.timeout is None:
            return await call
        try:
            return await asyncio.wait_for(call, self.activity.timeout)
        except TimeoutError:
            raise TimeoutError(
                f"activity {self.activity.name!r} exceeded its {self.activity.timeout:g} s timeout"
            ) from None

    async def _record(self, session: ActivitySession, encoded: Any) -> None:
        """History row (and compensation) in the step's transaction; one commit."""
        storage, ctx, step = self.ctx.storage, self.ctx, self.step
        compensation = (
            encode_arguments(self.args, self.kwargs, f"arguments of {self.what}")
            if self.activity.has_compensation
            else None
        )

        async def write(tx: Transaction | None) -> None:
            await step.record(
                wire.ACTIVITY_COMPLETED,
                wire.activity_completed(self.activity.name, encoded),
                tx=tx,
            )
            if compensation is not None:
                await storage.history.add_compensation(
                    ctx.instance_id, step.id, self.activity.name, wire.dump(compensation), tx=tx
                )

        try:
            if session.started or compensation is not None:
                async with session.commit_scope() as tx:
                    await write(tx)
            else:
                await write(None)  # one statement: no transaction needed
        except DuplicateRecordError as exc:  # recorded by another worker meanwhile
            raise LostOwnership(step.id) from exc

    async def _fail(
        self, error: Exception, attempts: int, started: float, terminal: bool
    ) -> Exception:
        """Record the failure (so replay raises it again) and build what the workflow sees."""
        recorded = await self.step.record(
            wire.ACTIVITY_FAILED,
            wire.activity_failed(self.activity.name, error, terminal=terminal, attempts=attempts),
            ignore_duplicate=True,
        )
        if not recorded:
            raise LostOwnership(self.step.id)
        await h.emit(
            self.ctx.hooks.on_activity_failed,
            self._info(
                h.ActivityFailedInfo,
                error=error,
                duration=timedelta(seconds=time.monotonic() - started),
                attempt=attempts,
            ),
        )
        if terminal:
            return error if isinstance(error, TerminalError) else TerminalError(error)
        return RetryExhaustedError(self.activity.name, attempts, error)
