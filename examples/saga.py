"""The saga pattern: book a hotel, a flight and a car; undo them all when payment fails.

    python examples/saga.py                       # SQLite in a temporary directory
    python examples/saga.py --db mysql://user:pw@localhost/romancy

Each booking activity has a compensation (``@activity.compensation``), recorded with
the step that succeeded. The last step, ``charge_trip``, really fails (a declined card,
``romancy.TerminalError``), so the workflow fails and romancy runs the recorded
compensations in reverse order. Watch for the three ``booked`` lines, the failing
charge, then ``cancelling the car``, ``cancelling the flight``, ``cancelling the hotel``
in that order. ``--succeed`` lets the charge pass: nothing is compensated.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from dataclasses import dataclass

import romancy
from romancy import WorkflowContext


@dataclass
class Trip:
    trip_id: str
    city: str
    card: str


@romancy.activity
async def book_hotel(ctx: WorkflowContext, trip: Trip) -> str:
    print(f"  booked a hotel in {trip.city}")
    return f"HOTEL-{trip.trip_id}"


@book_hotel.compensation
async def cancel_hotel(ctx: WorkflowContext, trip: Trip) -> None:
    print(f"  [compensation] cancelling the hotel in {trip.city}")


@romancy.activity
async def book_flight(ctx: WorkflowContext, trip: Trip) -> str:
    print(f"  booked a flight to {trip.city}")
    return f"FLIGHT-{trip.trip_id}"


@book_flight.compensation
async def cancel_flight(ctx: WorkflowContext, trip: Trip) -> None:
    print(f"  [compensation] cancelling the flight to {trip.city}")


@romancy.activity
async def book_car(ctx: WorkflowContext, trip: Trip) -> str:
    print(f"  booked a car in {trip.city}")
    return f"CAR-{trip.trip_id}"


@book_car.compensation
async def cancel_car(ctx: WorkflowContext, trip: Trip) -> None:
    print(f"  [compensation] cancelling the car in {trip.city}")


@romancy.activity
async def charge_trip(ctx: WorkflowContext, trip: Trip) -> str:
    print(f"  charging card {trip.card}: declined")
    # Terminal: retrying a declined card cannot help, so the workflow fails at once.
    raise romancy.TerminalError(f"card {trip.card} was declined")


@romancy.workflow
async def book_trip(ctx: WorkflowContext, trip: Trip) -> list[str]:
    return [
        await book_hotel(ctx, trip),
        await book_flight(ctx, trip),
        await book_car(ctx, trip),
        await charge_trip(ctx, trip),
    ]


async def run(database: str) -> None:
    async with romancy.App(database=database, service_name="saga-example") as app:
        instance_id = await app.start_workflow(
            book_trip, Trip("TRIP-7", "Lisbon", "4000-0000-0000-0002")
        )
        print(f"started book_trip {instance_id}")
        try:
            print("trip booked:", await app.wait_for_result(instance_id, timeout=30))
        except romancy.WorkflowFailedError as failure:
            print(f"trip failed ({failure.error_message}); every booking was undone")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    asyncio.run(run(args.db or f"sqlite:///{tempfile.mkdtemp()}/saga.db"))


if __name__ == "__main__":
    main()
