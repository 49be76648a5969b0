"""Top-level await, in the program's own loop: asyncio's and Trio's. Code that awaits runs
as a task of that loop; other code runs at once, in the caller's task."""
import asyncio

import pytest

from support import Recorder, run, run_trio

ASYNCIO_CASES = {
    "await an expression": (["import asyncio", "await asyncio.sleep(0, 42)"], "42\n"),
    "assign from await": (["import asyncio", "x = await asyncio.sleep(0, 5)", "x * 2"], "10\n"),
    "define then await": (["async def f():", "    return 3", "", "await f()"], "3\n"),
    "await in a loop": (["import asyncio", "for i in range(3):", "    await asyncio.sleep(0)", "    i", ""],
                        "0\n1\n2\n"),
    "async comprehension": (["import asyncio", "[await asyncio.sleep(0, i) for i in range(3)]"], "[0, 1, 2]\n"),
    "async with": (["import asyncio", "async with asyncio.Lock() as l:", "    'held'", ""], "'held'\n"),
    "async for": (["async def gen():", "    yield 1", "    yield 2", "",
                   "async for v in gen():", "    v", ""], "1\n2\n"),
    "output around an await": (["import asyncio", "print('a'); await asyncio.sleep(0.01); print('b')"],
                                "a\nb\n"),
    "gather": (["import asyncio", "await asyncio.gather(*(asyncio.sleep(0, n) for n in 'ab'))"],
               "['a', 'b']\n"),
    "the running task is the input's own": (
        ["import asyncio", "t = asyncio.current_task(); await asyncio.sleep(0); t is asyncio.current_task()"],
        "True\n"),
}


@pytest.mark.parametrize("lines,expected", list(ASYNCIO_CASES.values()), ids=list(ASYNCIO_CASES))
def test_top_level_await_under_asyncio(lines, expected):
    async def main():
        console = Recorder()
        for line in lines:
            await console.push(line)
        return console.text
    assert run(main) == expected


def test_an_error_in_awaited_code_shows_the_consoles_frames_only():
    async def main():
        console = Recorder()
        for line in ["import asyncio", "async def boom():", "    await asyncio.sleep(0)",
                     "    raise KeyError('k')", "", "await boom()"]:
            await console.push(line)
        return console.text
    assert run(main) == ('Traceback (most recent call last):\n'
                         '  File "<console>", line 1, in <module>\n'
                         '  File "<console>", line 3, in boom\n'
                         "KeyError: 'k'\n")


def test_code_without_await_runs_in_the_callers_task_and_awaiting_code_in_its_own():
    async def main():
        console = Recorder()
        console.locals["asyncio"] = asyncio
        caller = asyncio.current_task()
        console.locals["caller"] = caller
        await console.push("asyncio.current_task() is caller")
        await console.push("await asyncio.sleep(0); asyncio.current_task() is caller")
        return console.text
    assert run(main) == "True\nFalse\n"


def test_a_task_started_by_the_console_keeps_running_in_the_programs_loop():
    async def main():
        console = Recorder()
        done = asyncio.Event()
        console.locals.update(asyncio=asyncio, done=done)
        await console.push("async def later():")
        await console.push("    await asyncio.sleep(0)")
        await console.push("    done.set()")
        await console.push("")
        await console.push("task = asyncio.ensure_future(later())")  # no await: runs after the input
        await done.wait()
        await console.locals["task"]
        return console.text
    assert run(main) == ""


def test_context_variables_set_by_an_input_stay_for_the_next_but_not_for_the_program():
    import contextvars
    var = contextvars.ContextVar("var", default="program")

    async def main():
        console = Recorder()
        console.locals["var"] = var
        await console.push("var.set('console')")
        await console.push("import asyncio; await asyncio.sleep(0); var.get()")
        await console.push("var.get()")
        return console.text, var.get()
    text, outside = run(main)
    assert text.endswith("'console'\n'console'\n")
    assert outside == "program"


def test_top_level_await_under_trio():
    import trio

    async def main():
        console = Recorder()
        for line in ["import trio", "await trio.sleep(0)", "x = await trio.to_thread.run_sync(lambda: 6)",
                     "x * 7", "async def f():", "    await trio.sleep(0)", "    return 'f'", "",
                     "await f()", "print('a'); await trio.sleep(0.01); print('b')"]:
            await console.push(line)
        return console.text
    assert run_trio(main) == "42\n'f'\na\nb\n"


def test_errors_and_exit_under_trio():
    import trio

    async def main():
        console = Recorder()
        await console.push("import trio")
        await console.push("await trio.sleep(0); 1/0")
        with pytest.raises(SystemExit):
            await console.push("await trio.sleep(0); exit()")
        return console.text
    assert run_trio(main) == ('Traceback (most recent call last):\n'
                              '  File "<console>", line 1, in <module>\n'
                              "ZeroDivisionError: division by zero\n")


def test_a_nursery_of_the_program_runs_tasks_the_console_starts_under_trio():
    import trio

    async def main():
        async with trio.open_nursery() as nursery:
            console = Recorder(locals={"nursery": nursery, "trio": trio})
            done = trio.Event()
            console.locals["done"] = done
            await console.push("async def later():")
            await console.push("    await trio.sleep(0)")
            await console.push("    print('from the task')")
            await console.push("    done.set()")
            await console.push("")
            await console.push("nursery.start_soon(later)")
            await done.wait()
            await console._output.flush()
        return console.text
    assert run_trio(main) == "from the task\n"


def test_runsource_outside_a_loop_says_so():
    import asyncode
    console = asyncode.AsyncInteractiveConsole()
    coro = console.runsource("1")
    with pytest.raises(RuntimeError, match="running asyncio or Trio"):
        coro.send(None)
