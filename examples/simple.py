"""The smallest useful workflow: two activities in sequence, typed input and output.

    python examples/simple.py                      # SQLite in a temporary directory
    python examples/simple.py --db postgresql://user:pw@localhost/romancy

Three greeting workflows run one after another. Each runs ``get_greeting`` and then
``format_message``; watch for one ``[activity]`` line per activity call and a
``result:`` line per workflow, e.g. ``result: Hola, Carlos!``. Every step is recorded
in the database: ``romancy get INSTANCE_ID --db URL`` shows the history.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from dataclasses import dataclass

import romancy
from romancy import WorkflowContext

GREETINGS = {"en": "Hello", "ja": "こんにちは", "es": "Hola", "fr": "Bonjour"}


@dataclass
class Greeting:
    name: str
    language: str


@romancy.activity
async def get_greeting(ctx: WorkflowContext, language: str) -> str:
    print(f"  [activity] looking up the greeting for {language!r}")
    return GREETINGS.get(language, "Hello")


@romancy.activity
async def format_message(ctx: WorkflowContext, greeting: str, name: str) -> str:
    print(f"  [activity] formatting the message for {name}")
    return f"{greeting}, {name}!"


@romancy.workflow
async def greeting_workflow(ctx: WorkflowContext, request: Greeting) -> str:
    greeting = await get_greeting(ctx, request.language)
    return await format_message(ctx, greeting, request.name)


async def run(database: str) -> None:
    async with romancy.App(database=database, service_name="simple-example") as app:
        for request in (Greeting("Alice", "en"), Greeting("Taro", "ja"), Greeting("Carlos", "es")):
            instance_id = await app.start_workflow(greeting_workflow, request)
            print(f"started {instance_id} for {request.name} ({request.language})")
            print("result:", await app.wait_for_result(instance_id, timeout=30))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    asyncio.run(run(args.db or f"sqlite:///{tempfile.mkdtemp()}/simple.db"))


if __name__ == "__main__":
    main()
