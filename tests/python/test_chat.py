"""The documented use: a console in a chat. A subclass overrides write() (a message out) and
raw_input() (a message in), here with queues; a user sends lines and reads the replies,
with multi-line input, top-level await, an error and exit()."""
import asyncio

import asyncode
from support import run, run_trio

PROMPTS = (">>> ", "... ")


class ChatConsole(asyncode.AsyncInteractiveConsole):
    def __init__(self, send, receive, **kwargs):
        super().__init__(filename="<chat>", **kwargs)
        self.send, self.receive = send, receive

    async def write(self, data):
        await self.send(data)

    async def raw_input(self, prompt=""):
        await self.send(prompt)
        line = await self.receive()
        if line is None:  # the user left
            raise EOFError
        return line


async def bot(console, send):
    """How a program runs the console: exit() must not end the program."""
    try:
        await console.interact(banner="Python console: top-level await works.", exitmsg="Bye.")
    except SystemExit as e:
        await send("Console closed (exit %r).\n" % (e.code,))


class User:
    """The other side of the chat: sends a line, reads messages up to the next prompt."""

    def __init__(self, send, receive):
        self._send, self._receive = send, receive

    async def replies(self):
        """Messages up to the next prompt: (text, prompt)."""
        text = []
        while True:
            message = await self._receive()
            if message in PROMPTS:
                return "".join(text), message
            text.append(message)

    async def say(self, line):
        await self._send(line)
        return await self.replies()


async def conversation(user, library):
    transcript = [await user.replies()]
    for line in ["import " + library,
                 "async def double(x):", "    await %s.sleep(0)" % library, "    return x * 2", "",
                 "await double(21)", "print('several'); print('lines')",
                 "for i in range(2):", "    await %s.sleep(0)" % library, "    i", "",
                 "1/0", "_"]:
        transcript.append(await user.say(line))
    return transcript


EXPECTED = [
    ("Python console: top-level await works.\n", ">>> "),
    ("", ">>> "),
    ("", "... "), ("", "... "), ("", "... "), ("", ">>> "),
    ("42\n", ">>> "),
    ("several\nlines\n", ">>> "),
    ("", "... "), ("", "... "), ("", "... "), ("0\n1\n", ">>> "),
    ('Traceback (most recent call last):\n  File "<chat>", line 1, in <module>\n'
     "ZeroDivisionError: division by zero\n", ">>> "),
    ("1\n", ">>> "),
]


def test_a_chat_console_over_asyncio_queues():
    async def main():
        to_user, to_bot = asyncio.Queue(), asyncio.Queue()
        console = ChatConsole(to_user.put, to_bot.get)
        user = User(to_bot.put, to_user.get)
        running = asyncio.ensure_future(bot(console, to_user.put))
        transcript = await conversation(user, "asyncio")
        await to_bot.put("exit()")
        await running
        closing = []
        while not to_user.empty():
            closing.append(to_user.get_nowait())
        return transcript, closing
    transcript, closing = run(main)
    assert transcript == EXPECTED
    assert closing == ["Console closed (exit None).\n"]


def test_a_chat_console_over_trio_channels():
    import trio

    async def main():
        to_user_send, to_user_receive = trio.open_memory_channel(100)
        to_bot_send, to_bot_receive = trio.open_memory_channel(100)
        console = ChatConsole(to_user_send.send, to_bot_receive.receive)
        user = User(to_bot_send.send, to_user_receive.receive)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(bot, console, to_user_send.send)
            transcript = await conversation(user, "trio")
            await to_bot_send.send(None)  # the user leaves: end of input
            closing = [await to_user_receive.receive(), await to_user_receive.receive()]
        return transcript, closing
    transcript, closing = run_trio(main)
    assert transcript == EXPECTED
    assert closing == ["\n", "Bye.\n"]
