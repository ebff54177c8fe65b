"""finish_first: critical sections end even when their caller is cancelled."""

from __future__ import annotations

import asyncio

import pytest

from romancy.engine.cancellation import finish_first, sleep_or_wake


async def test_the_work_ends_before_the_cancellation_goes_on() -> None:
    steps: list[str] = []

    async def critical() -> str:
        steps.append("locked")
        await asyncio.sleep(0.05)
        steps.append("released")
        return "done"

    caller = asyncio.create_task(finish_first(critical()))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert steps == ["locked", "released"]


async def test_result_and_errors_pass_through() -> None:
    async def value() -> int:
        return 7

    async def broken() -> None:
        raise ValueError("bad")

    assert await finish_first(value()) == 7
    with pytest.raises(ValueError, match="bad"):
        await finish_first(broken())


async def test_a_pause_ends_on_cancellation_even_when_woken_at_that_moment() -> None:
    wake = asyncio.Event()
    pause = asyncio.create_task(sleep_or_wake(60, wake))
    await asyncio.sleep(0)  # the pause is waiting now
    wake.set()
    pause.cancel()  # in the same turn of the loop as the wake-up
    with pytest.raises(asyncio.CancelledError):
        await pause


async def test_a_pause_ends_at_its_time_or_its_wake_up() -> None:
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await sleep_or_wake(0.05, wake)
    assert loop.time() - began >= 0.05
    loop.call_later(0.01, wake.set)
    await sleep_or_wake(60, wake)
    assert not wake.is_set()
