"""Output per task: what the console's code (and the tasks it starts) prints goes to the
console's write(), in order, before runsource() returns; what the program's other tasks
print goes where it always did."""
import asyncio
import sys
import threading

import pytest

from support import Recorder, run, run_trio


def test_another_tasks_print_during_an_awaited_input_stays_out_of_the_console(capsys):
    async def main():
        console = Recorder()
        waiting, printed = asyncio.Event(), asyncio.Event()
        console.locals.update(asyncio=asyncio, waiting=waiting, printed=printed)

        async def other_task():
            await waiting.wait()
            print("from the program")
            print("program error", file=sys.stderr)
            printed.set()

        other = asyncio.ensure_future(other_task())
        await console.push("print('before'); waiting.set(); _ = await printed.wait(); print('after')")
        await other
        return console.text
    text = run(main)
    assert text == "before\nafter\n"
    out, err = capsys.readouterr()
    assert "from the program\n" in out and "before" not in out
    assert "program error\n" in err


def test_another_tasks_print_stays_out_under_trio(capsys):
    import trio

    async def main():
        console = Recorder()
        waiting, printed = trio.Event(), trio.Event()
        console.locals.update(trio=trio, waiting=waiting, printed=printed)

        async def other_task():
            await waiting.wait()
            print("from the program")
            printed.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(other_task)
            await console.push("print('before'); waiting.set(); _ = await printed.wait(); print('after')")
        return console.text
    assert run_trio(main) == "before\nafter\n"
    assert "from the program\n" in capsys.readouterr().out


def test_stderr_goes_to_the_console_too_in_order():
    async def main():
        console = Recorder()
        await console.push("import sys; print('out'); print('err', file=sys.stderr); print('out2')")
        return console.text
    assert run(main) == "out\nerr\nout2\n"


def test_reroute_flags_leave_a_stream_to_the_program(capsys):
    async def main():
        console = Recorder(reroute_stdout=False)
        await console.push("import sys; print('to stdout'); print('to stderr', file=sys.stderr); 7")
        text = console.take()
        console.reroute_stdout, console.reroute_stderr = True, False
        await console.push("print('now captured'); print('not this', file=sys.stderr)")
        return text, console.text
    first, second = run(main)
    assert first == "to stderr\n"
    assert second == "now captured\n"
    out, err = capsys.readouterr()
    assert "to stdout\n7\n" in out and "not this\n" in err


def test_a_thread_of_the_code_prints_to_the_program_but_to_thread_copies_the_context(capsys):
    async def main():
        console = Recorder()
        await console.push("import asyncio, threading")
        await console.push("t = threading.Thread(target=print, args=('plain thread',)); t.start(); t.join()")
        await console.push("await asyncio.to_thread(print, 'to_thread')")
        return console.text
    assert run(main) == "to_thread\n"
    assert "plain thread\n" in capsys.readouterr().out


def test_a_background_task_of_the_console_writes_to_it_after_its_input_returned():
    async def main():
        arrived = asyncio.Event()

        class Console(Recorder):
            async def write(self, data):
                await super().write(data)
                if "tick 2" in self.text:
                    arrived.set()

        console = Console()
        release = asyncio.Event()
        console.locals.update(asyncio=asyncio, release=release)
        for line in ["async def ticker():", "    await release.wait()", "    for i in range(3):",
                     "        print('tick', i)", "        await asyncio.sleep(0)", "",
                     "t = asyncio.ensure_future(ticker())"]:
            await console.push(line)
        assert console.text == ""
        release.set()
        await arrived.wait()
        return console.text
    assert run(main) == "tick 0\ntick 1\ntick 2\n"


def test_sync_output_comes_in_one_write_in_order():
    async def main():
        console = Recorder()
        await console.runsource("for i in range(1000): print(i)\n")
        return console.writes
    writes = run(main)
    assert writes == ["".join("%d\n" % i for i in range(1000))]


def test_output_is_flushed_before_runsource_returns_even_with_a_slow_write():
    async def main():
        class Slow(Recorder):
            async def write(self, data):
                await asyncio.sleep(0.001)
                await super().write(data)

        console = Slow()
        await console.push("import asyncio")
        await console.push("for i in range(5):\n    print(i)\n    await asyncio.sleep(0)\n")
        return console.text
    assert run(main) == "0\n1\n2\n3\n4\n"


def test_output_past_the_bound_is_dropped_and_said_so():
    async def main():
        console = Recorder(max_buffered_output=100)
        await console.push("print('x' * 60); print('y' * 60); print('z')")
        return console.text
    text = run(main)
    assert text.startswith("x" * 60 + "\n")
    # print() writes the text and its end apart: the 60 y's are dropped, their newline fits.
    assert text[61:] == "\n[asyncode: 60 characters of output dropped: write() fell behind]\n\nz\n"


def test_write_errors_come_out_of_runsource():
    async def main():
        class Broken(Recorder):
            async def write(self, data):
                raise ConnectionError("chat is down")

        console = Broken()
        with pytest.raises(ConnectionError):
            await console.push("print('lost')")
        return True
    assert run(main)


def test_bytes_to_the_binary_buffer_are_captured():
    async def main():
        console = Recorder()
        await console.push("import sys; _ = sys.stdout.buffer.write('é'.encode()[:1]); "
                           "_ = sys.stdout.buffer.write('é\\n'.encode()[1:])")
        return console.text
    assert run(main) == "é\n"


def test_two_consoles_at_once_each_get_their_own_output():
    async def main():
        a, b = Recorder(), Recorder()
        both = asyncio.Barrier(2)
        for console, name in ((a, "a"), (b, "b")):
            console.locals.update(both=both, name=name)
        line = "for i in range(3):\n    print(name, i)\n    _ = await both.wait()\n"
        await asyncio.gather(a.push(line), b.push(line))
        return a.text, b.text
    assert run(main) == ("a 0\na 1\na 2\n", "b 0\nb 1\nb 2\n")


def test_the_proxies_delegate_to_the_programs_streams():
    async def main():
        console = Recorder()
        await console.push("import sys")
        await console.push("sys.stdout.isatty(), sys.stdout.writable()")
        return console.text
    text = run(main)
    assert text == "(False, True)\n"
    # Installed once; other attributes are the program's stream's.
    assert type(sys.stdout).__name__ == "StreamProxy"
    assert sys.stdout.encoding == sys.stdout.original.encoding


def test_a_write_from_another_thread_reaches_the_console():
    async def main():
        console = Recorder()
        started = threading.Event()
        console.locals.update(started=started)
        await console.push("import asyncio, contextvars, threading")
        await console.push("ctx = contextvars.copy_context()")
        await console.push("t = threading.Thread(target=ctx.run, args=(print, 'from a thread')); t.start(); "
                           "await asyncio.to_thread(t.join)")
        return console.text
    assert run(main) == "from a thread\n"
