"""console.interrupt(): a task that awaits is cancelled; code that runs (sync code, or a
task between two awaits) gets KeyboardInterrupt when the call comes from another thread.
The input's runsource() shows the traceback and returns; the console goes on."""
import asyncio
import threading

import pytest

from support import LIMIT, Recorder, run, run_trio


def test_interrupt_cancels_an_awaiting_input_under_asyncio():
    async def main():
        console = Recorder()
        started = asyncio.Event()
        console.locals.update(asyncio=asyncio, started=started)
        assert console.interrupt() is False  # nothing runs
        pushed = asyncio.ensure_future(console.push("started.set(); await asyncio.Event().wait()"))
        await started.wait()
        assert console.running
        assert console.interrupt() is True
        assert await pushed is False
        assert not console.running
        text = console.take()
        await console.push("'still here'")
        return text, console.text
    text, after = run(main)
    assert text.startswith("Traceback (most recent call last):\n  File \"<console>\", line 1, in <module>\n")
    assert text.endswith("asyncio.exceptions.CancelledError\n")
    assert "asyncode" not in text.replace("asyncio", "")
    assert after == "'still here'\n"


def test_interrupt_cancels_an_awaiting_input_under_trio():
    import trio

    async def main():
        console = Recorder()
        started = trio.Event()
        console.locals.update(trio=trio, started=started)
        result = []
        async with trio.open_nursery() as nursery:
            async def push():
                result.append(await console.push("started.set(); await trio.sleep_forever()"))
            nursery.start_soon(push)
            await started.wait()
            assert console.interrupt() is True
        text = console.take()
        await console.push("await trio.sleep(0); 'still here'")
        return result, text, console.text
    result, text, after = run_trio(main)
    assert result == [False]
    assert text.startswith("Traceback (most recent call last):\n  File \"<console>\", line 1, in <module>\n")
    assert text.endswith("trio.Cancelled: Cancelled\n")
    assert after == "'still here'\n"


async def interrupted_from_a_thread(source):
    """Run source (which sets `started`, then loops) while a thread interrupts it."""
    console = Recorder()
    started = threading.Event()
    console.locals.update(asyncio=asyncio, started=started)

    def interrupter():
        assert started.wait(LIMIT)
        console.interrupt()

    thread = threading.Thread(target=interrupter)
    thread.start()
    await console.runsource(source, symbol="exec")
    thread.join()
    return console.text


def test_interrupt_from_another_thread_stops_sync_code():
    text = run(interrupted_from_a_thread, "started.set()\nwhile True:\n    pass\n")
    assert text.startswith("Traceback (most recent call last):\n  File \"<input>\", line ")
    assert text.endswith("KeyboardInterrupt\n")


def test_interrupt_from_another_thread_stops_a_busy_task_between_awaits():
    text = run(interrupted_from_a_thread, "await asyncio.sleep(0)\nstarted.set()\nwhile True:\n    pass\n")
    assert text.endswith("KeyboardInterrupt\n")


def test_a_late_interrupt_does_not_land_in_the_program():
    async def main():
        console = Recorder()
        for _ in range(50):
            await console.push("x = sum(range(1000))")
            console.interrupt()  # nothing runs: a no-op
            await asyncio.sleep(0)
        return console.text
    assert run(main) == ""


def test_the_callers_cancellation_goes_on_outward_and_is_not_the_inputs():
    async def main():
        console = Recorder()
        started = asyncio.Event()
        console.locals.update(asyncio=asyncio, started=started)
        pushed = asyncio.ensure_future(console.push("started.set(); await asyncio.Event().wait()"))
        await started.wait()
        pushed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pushed
        assert not console.running
        return console.text
    assert run(main) == ""


def test_the_callers_cancellation_goes_on_outward_under_trio():
    import trio

    async def main():
        console = Recorder()
        started = trio.Event()
        console.locals.update(trio=trio, started=started)
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                async def push():
                    await console.push("started.set(); await trio.sleep_forever()")
                    raise AssertionError("the push was not cancelled")
                nursery.start_soon(push)
                await started.wait()
                scope.cancel()
        assert scope.cancelled_caught and not console.running
        return console.text
    assert run_trio(main) == ""
