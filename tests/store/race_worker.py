"""One racer: open the store, wait for "go", claim every crossing in shuffled batches.

Run as `python -m tests.store.race_worker BACKEND LOCATION COUNT SEED`; prints "ready", then
(after a line on stdin) the JSON list of message ids this process won.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys

from tests.builders import NOW
from tests.store.backends import Backend
from tests.store.cases import crossings

BATCH = 50


async def race(backend: Backend, count: int, seed: int) -> list[str]:
    store = await backend.open()
    try:
        decisions = crossings(count)
        batches = [decisions[i : i + BATCH] for i in range(0, count, BATCH)]
        random.Random(seed).shuffle(batches)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        won = []
        for batch in batches:
            won.extend(await store.claim(batch, now=NOW))
        return [item.message.id for item in won]
    finally:
        await store.aclose()


def main() -> None:
    kind, location, count, seed = sys.argv[1:5]
    won = asyncio.run(race(Backend(kind, location), int(count), int(seed)))
    print(json.dumps(won), flush=True)


if __name__ == "__main__":
    main()
