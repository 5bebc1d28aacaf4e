"""N readers of GET /v2/events held for HOLD seconds: event_readers.py HOST PORT N HOLD.
Prints one JSON line: readers connected, bytes and frames read (snapshot, stats, ...)."""
import asyncio
import json
import sys
import time

host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
stats = {"readers": n, "connected": 0, "bytes": 0, "snapshots": 0, "stats_events": 0}


async def reader():
    r, w = await asyncio.open_connection(host, port)
    w.write(b"GET /v2/events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
    await w.drain()
    end = time.time() + hold
    first = True
    while time.time() < end:
        try:
            d = await asyncio.wait_for(r.read(65536), timeout=max(0.1, end - time.time()))
        except asyncio.TimeoutError:
            break
        if not d:
            break
        if first and d.startswith(b"HTTP/1.1 200"):
            stats["connected"] += 1
        first = False
        stats["bytes"] += len(d)
        stats["snapshots"] += d.count(b"event: snapshot")
        stats["stats_events"] += d.count(b"event: stats")
    w.close()


async def main():
    await asyncio.gather(*[reader() for _ in range(n)])
    print(json.dumps(stats))


asyncio.run(main())
