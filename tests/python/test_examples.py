"""examples/discord_console.py: imports with Debian's discord.py, builds its bot and its
console without a network, and its console runs a conversation through a fake channel."""
import asyncio
import importlib.util
import pathlib

import pytest

from support import run

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "discord_console.py"


@pytest.fixture(scope="module")
def example():
    pytest.importorskip("discord", reason="python3-discord is not installed")
    spec = importlib.util.spec_from_file_location("discord_console", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeChannel:
    def __init__(self):
        self.sent = []

    async def send(self, content):
        assert len(content) <= 2000, "Discord refuses messages over 2000 characters"
        self.sent.append(content)


def test_the_bot_is_built_with_its_commands(example):
    import discord
    from discord.ext import commands
    bot = example.make_bot()
    assert isinstance(bot, commands.Bot)
    assert {"console", "interrupt", "close"} <= {c.name for c in bot.commands}
    assert bot.intents.message_content
    assert isinstance(example.DiscordConsole(FakeChannel(), object()), discord.Client) is False


def test_the_discord_console_runs_messages_in_the_bots_loop(example):
    async def main():
        channel = FakeChannel()
        console = example.DiscordConsole(channel, "owner", {"asyncio": asyncio})
        running = asyncio.ensure_future(example.run_console(console, banner="hello"))
        for message in ["x = 6", "x * 7",
                        "```py\nasync def f():\n    await asyncio.sleep(0)\n    return 'awaited'\n```",
                        "await f()", "1/0", "print('a' * 3000)", "exit()"]:
            console.feed(message)
        await running
        return channel.sent
    sent = run(main)
    assert sent[:4] == ["```py\nhello\n```", "```py\n42\n```", "```py\n'awaited'\n```",
                        '```py\nTraceback (most recent call last):\n  File "<discord>", line 1, in <module>\n'
                        "ZeroDivisionError: division by zero\n```"]
    long_output = [m[len("```py\n"):-len("\n```")] for m in sent[4:-1]]
    assert "".join(long_output) == "a" * 3000 and len(long_output) == 2
    assert sent[-1] == "Console closed."


def test_code_blocks_and_long_text_are_cut_for_discord(example):
    assert example.code_of("```python\nprint(1)\n```") == "print(1)"
    assert example.code_of("  x = 1  ") == "x = 1"
    pieces = list(example.chunks("line\n" * 1000))
    assert "".join(pieces) == "line\n" * 1000
    assert all(len(p) <= example.MESSAGE_LIMIT and p.endswith("\n") for p in pieces)


def test_the_bot_serves_itself_for_attach_once_set_up(example, tmp_path):
    """setup_hook (what login runs, here without a network) starts asyncode.serve: a daemon's
    session on its socket runs code where `bot` is the running bot."""
    from asyncode._wire import Wire
    import socket

    async def main():
        path = str(tmp_path / "bot.sock")
        bot = example.make_bot(serve_path=path)
        await bot.setup_hook()
        loop = asyncio.get_running_loop()

        def talk():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            wire = Wire(s)
            wire.send({"jsonrpc": "2.0", "id": 1, "method": "session/open", "params": {"session": "bot"}})
            opened = wire.read()
            wire.send({"jsonrpc": "2.0", "id": 2, "method": "exec",
                       "params": {"code": "type(bot).__name__, sorted(c.name for c in bot.commands)"}})
            ran = wire.read()
            while "id" not in ran:  # execStart and output come before the answer
                ran = wire.read()
            s.close()
            return opened, ran

        opened, ran = await loop.run_in_executor(None, talk)
        await bot.close()
        return opened, ran

    opened, ran = run(main)
    assert opened["result"]["backend"] == "asyncio"
    assert ran["result"]["status"] == "ok", ran
    assert ran["result"]["result"]["text/plain"] == "('ConsoleBot', ['close', 'console', 'help', 'interrupt'])"
