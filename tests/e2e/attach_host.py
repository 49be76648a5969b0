"""A real program to attach to: an aiohttp server on 127.0.0.1 with state and a periodic task,
serving itself to the asyncode daemon with `asyncode.serve()`.

    python3 attach_host.py SOCKET      (- for the package's default socket)

It prints `ready PORT SOCKET` on stdout once both the HTTP server and the socket listen, `tick N`
each time its task runs (its own output, which an attached session must never capture),
and exits when GET /quit is asked for (or stdin ends). GET / answers the state as JSON.
"""
import asyncio
import sys
import threading

from aiohttp import web

import asyncode

state = {"ticks": 0, "greeting": "hello", "hits": 0}
quit_event = None
first_tick = None


async def ticker():
    while True:
        await asyncio.sleep(0.05)
        state["ticks"] += 1
        print("tick", state["ticks"], flush=True)
        first_tick.set()


async def index(request):
    state["hits"] += 1
    return web.json_response(state)


async def quit_handler(request):
    quit_event.set()
    return web.Response(text="bye")


def watch_stdin(loop):
    """The end of stdin (the test is gone) ends the program; a daemon thread, which the
    program's exit does not wait for."""
    sys.stdin.read()
    loop.call_soon_threadsafe(quit_event.set)


async def main(path):
    global quit_event, first_tick
    quit_event = asyncio.Event()
    first_tick = asyncio.Event()
    threading.Thread(target=watch_stdin, args=(asyncio.get_running_loop(),), daemon=True).start()
    app = web.Application()
    app.add_routes([web.get("/", index), web.get("/quit", quit_handler)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    ready = asyncio.get_running_loop().create_future()
    serving = asyncio.ensure_future(asyncode.serve(path=None if path == "-" else path, ready=ready.set_result))
    tick = asyncio.ensure_future(ticker())
    path = await ready
    await first_tick.wait()
    print("ready", port, path, flush=True)
    await asyncio.wait([asyncio.ensure_future(quit_event.wait()), serving], return_when=asyncio.FIRST_COMPLETED)
    print("quitting", flush=True)
    tick.cancel()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
