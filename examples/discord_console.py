"""A Discord bot with a Python console in a channel, on the asyncode package.

    DISCORD_TOKEN=... python3 examples/discord_console.py

(with the asyncode package importable: `pip install ./python`, or PYTHONPATH=build/python).
In a channel the bot can read, its owner sends `!console`; from then on each message of the
owner in that channel is Python code, run inside the bot's own event loop (top-level await
works: `await bot.fetch_user(...)`), and what it prints comes back as messages. A message
is one input, of one line or many (a ```py code block``` too); `exit()` or `!close` ends the
console, `!interrupt` stops the code that runs. Only the bot's owner may open a console: its
code runs with all of the bot's rights. The bot needs the message content intent.

The bot also serves itself for attach (asyncode.serve): on the machine it runs on, its user
gets a prompt inside it with `asyncode attach` (which lists the socket) and then
`asyncode attach SOCKET`, where `bot` is the running bot. ASYNCODE_SOCKET picks the socket.
"""
import asyncio
import os
import re
import sys

import discord
from discord.ext import commands

import asyncode

MESSAGE_LIMIT = 1900  # characters of output per message (Discord takes 2000, fences included)
FENCE = re.compile(r"^```(?:python|py)?\n?(.*?)\n?```$", re.DOTALL)


def code_of(content):
    """The code in a message: a code block's fences and the message's margins removed."""
    content = content.strip()
    match = FENCE.match(content)
    return match.group(1) if match else content


def chunks(text, size=MESSAGE_LIMIT):
    """text in pieces of at most `size` characters, cut at line ends where possible."""
    while text:
        if len(text) <= size:
            yield text
            return
        cut = text.rfind("\n", 0, size)
        cut = cut + 1 if cut > 0 else size
        yield text[:cut]
        text = text[cut:]


class DiscordConsole(asyncode.AsyncInteractiveConsole):
    """A console whose lines are one user's messages in a channel and whose output goes to
    that channel, in code blocks."""

    def __init__(self, channel, user, locals=None):
        super().__init__(locals, filename="<discord>")
        self.channel = channel
        self.user = user
        self.lines = asyncio.Queue()

    def feed(self, content):
        """A message of the user: its lines, then an empty one, so that a block ends with
        the message (a chat has no empty messages to end one with)."""
        for line in code_of(content).split("\n"):
            self.lines.put_nowait(line)
        self.lines.put_nowait("")

    def close(self):
        self.lines.put_nowait(None)

    async def raw_input(self, prompt=""):
        line = await self.lines.get()
        if line is None:
            raise EOFError
        return line

    async def write(self, data):
        for piece in chunks(data):
            text = piece.rstrip("\n").replace("```", "`\u200b``") or "\u200b"
            await self.channel.send("```py\n%s\n```" % text)


async def run_console(console, banner=None):
    """Run a console until exit(), !close or end of input; the bot goes on."""
    if banner is None:
        banner = ("Python %s console in this bot's event loop: top-level await works. "
                  "exit() or !close ends it, !interrupt stops running code."
                  % sys.version.split()[0])
    try:
        await console.interact(banner=banner, exitmsg="")
    except SystemExit:
        pass
    await console.channel.send("Console closed.")


class ConsoleBot(commands.Bot):
    """The bot: once logged in, it also serves itself to `asyncode attach` (serve_path: the
    socket, None for asyncode's default, False for none)."""

    def __init__(self, *args, serve_path=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.serve_path = serve_path
        self.attach_namespace = {"__name__": "__attached__", "bot": self, "discord": discord, "asyncio": asyncio}
        self.serving = None

    async def setup_hook(self):
        if self.serve_path is not False:
            ready = asyncio.get_running_loop().create_future()
            self.serving = asyncio.ensure_future(
                asyncode.serve(self.attach_namespace, self.serve_path, ready=ready.set_result))
            print("asyncode attach %s" % await ready, file=sys.stderr)

    async def close(self):
        if self.serving is not None:
            self.serving.cancel()
        await super().close()


def make_bot(prefix="!", serve_path=None):
    intents = discord.Intents.default()
    intents.message_content = True
    bot = ConsoleBot(command_prefix=prefix, intents=intents, serve_path=serve_path)
    consoles = {}  # channel id -> DiscordConsole

    @bot.command(name="console", help="Open a Python console in this channel (the owner only).")
    @commands.is_owner()
    async def open_console(ctx):
        if ctx.channel.id in consoles:
            await ctx.send("A console is open here already.")
            return
        namespace = {"__name__": "__console__", "__doc__": None, "bot": bot, "ctx": ctx,
                     "channel": ctx.channel, "discord": discord, "asyncio": asyncio}
        console = consoles[ctx.channel.id] = DiscordConsole(ctx.channel, ctx.author, namespace)
        try:
            await run_console(console)
        finally:
            del consoles[ctx.channel.id]

    @bot.command(name="interrupt", help="Stop the code that runs in this channel's console.")
    @commands.is_owner()
    async def interrupt(ctx):
        console = consoles.get(ctx.channel.id)
        if console is None or not console.interrupt():
            await ctx.send("Nothing runs.")

    @bot.command(name="close", help="Close this channel's console.")
    @commands.is_owner()
    async def close(ctx):
        console = consoles.get(ctx.channel.id)
        if console is not None:
            console.close()

    @bot.listen("on_message")
    async def feed(message):
        console = consoles.get(message.channel.id)
        if console is None or message.author != console.user or message.content.startswith(prefix):
            return
        console.feed(message.content)

    return bot


def main():
    token = os.environ.get("DISCORD_TOKEN")
    if not token:
        sys.exit("Set DISCORD_TOKEN to the bot's token.")
    make_bot(serve_path=os.environ.get("ASYNCODE_SOCKET")).run(token)


if __name__ == "__main__":
    main()
