// UI tests in a real workbench (code-server + chromium), the .vsix installed as a user
// installs it. One workbench for all tests, in order; screenshots go to artifacts/.
// Outputs are read from the notebook webviews only (never from the code in the editor).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Workbench, vsixPath, plain } from './harness.mjs';

const files = {
  'demo.py': `import math

# %% streaming
import asyncio, os
print("line", 1)
while not os.path.exists("go"):
    await asyncio.sleep(0.05)
for i in range(2, 4):
    print("line", i)
6 * 7
`,
  'tasks.py': `# %% a task that outlives its run
import asyncio, os
print("task", "starts")
async def later():
    while not os.path.exists("late"):
        await asyncio.sleep(0.05)
    print("late", "from the task")
t = asyncio.ensure_future(later())

# %% the next run
print("next", "cell runs")
`,
  'ask.py': `# %%
name = input("Your name? ")
print("hello,", name.upper())
`,
  'sleep.py': `# %%
import asyncio
print("sleeping", "now")
await asyncio.sleep(60)
`,
  'error.py': `import os

# %% fails on line 5
x = 1
y = x + undefined_name
`,
  'complete.py': `# %%
class Thing: pass
live_thing = Thing()
setattr(live_thing, "dynamic_" + "attribute", 1)
print("thing", "ready")

`,
  'rich.py': `# %%
import zlib, struct
class Table:
    def _repr_html_(self):
        return "<table><tr><th>animal</th><th>legs</th></tr><tr><td>spider</td><td>" + str(4 * 2) + "</td></tr></table>"
def png(w, h, rgb):
    raw = b"".join(b"\\x00" + bytes(rgb) * w for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
class Red:
    def _repr_png_(self):
        return png(40, 30, (220, 30, 30))
display(Table())
Red()
`,
  'crash.py': `# %% dies
import os, sys
print("about to", "die")
sys.stdout.flush()
os._exit(3)

# %% the next run
print("alive", "again")
`,
  'flood.py': `# %%
for i in range(200_000):
    print("flood line", i)
"flood " + "done"
`,
  'nb.ipynb': JSON.stringify({
    cells: [
      {
        cell_type: 'code',
        metadata: {},
        execution_count: null,
        outputs: [],
        source: ['import asyncio\n', 'await asyncio.sleep(0.01)\n', 'print("notebook", "says", 6 * 7)'],
      },
    ],
    metadata: { language_info: { name: 'python' } },
    nbformat: 4,
    nbformat_minor: 5,
  }),
};

let wb;
before(async () => {
  wb = await Workbench.start({ vsix: vsixPath(), files });
});
after(async () => {
  await wb?.stop();
});

/** A UI test: a screenshot of the workbench when it fails. */
function ui(name, fn) {
  test(name, async () => {
    try {
      await fn();
    } catch (e) {
      await wb?.screenshot(`failed-${name.replace(/\W+/g, '-').slice(0, 60)}`).catch(() => {});
      throw e;
    }
  });
}

const has = (pattern) => (cells) => cells.some((c) => pattern.test(c));

async function runCellAt(file, line) {
  await wb.open(file);
  // the CodeLens over the cell says the extension is active in this editor
  await wb.page.locator('.editor-group-container.active .codelens-decoration', { hasText: 'Run Cell' }).first().waitFor({ timeout: 60000 });
  await wb.goToLine(line);
  await wb.page.keyboard.press('Control+Enter');
}

ui('Ctrl+Enter on a # %% cell streams its lines into the interactive window, in order, then its result', async () => {
  await runCellAt('demo.py', 5);
  const first = await wb.waitForOutputs(has(/line 1/), { what: 'the first line', timeout: 60000 });
  assert.ok(!first.some((c) => /line 2/.test(c)), 'later lines came before the cell was let go on');
  await wb.screenshot('run-cell-streaming');
  writeFileSync(join(wb.workspace, 'go'), '');
  const cells = await wb.waitForOutputs(has(/line 1\s+line 2\s+line 3[\s\S]*\b42\b/), { what: 'the result' });
  assert.equal(cells.filter((c) => /line 1/.test(c)).length, 1);
  await wb.screenshot('run-cell');
});

ui("a background task's later output appears in the cell of the run that started it", async () => {
  await runCellAt('tasks.py', 3);
  await wb.waitForOutputs(has(/task starts/), { what: 'the task cell' });
  await runCellAt('tasks.py', 11);
  await wb.waitForOutputs(has(/next cell runs/), { what: 'the next cell' });
  writeFileSync(join(wb.workspace, 'late'), '');
  const cells = await wb.waitForOutputs(has(/task starts[\s\S]*late from the task/), { what: 'the late output' });
  assert.ok(!cells.some((c) => /next cell runs/.test(c) && /late from the task/.test(c)));
  await wb.screenshot('background-task');
});

ui('input() opens an input box; its answer goes back to the code', async () => {
  await runCellAt('ask.py', 2);
  const box = wb.page.locator('.quick-input-widget', { hasText: 'Your name?' });
  await box.waitFor({ timeout: 30000 });
  await wb.screenshot('input');
  await wb.page.keyboard.type('ada');
  await wb.page.keyboard.press('Enter');
  await wb.waitForOutputs(has(/hello, ADA/), { what: 'the answer used' });
});

ui('the toolbar interrupts await asyncio.sleep(60) and says how', async () => {
  await runCellAt('sleep.py', 3);
  await wb.waitForOutputs(has(/sleeping now/), { what: 'the sleep to start' });
  const started = Date.now();
  const button = wb.page.locator('.notebook-toolbar-container a.action-label[aria-label="Interrupt"]:not(.disabled)').first();
  await button.click({ timeout: 30000 });
  const note = await wb.waitForNotification(/interrupted/);
  assert.match(note, /cancelled/);
  await wb.waitForOutputs(has(/sleeping now[\s\S]*Cancel/), { what: 'the cancelled run' });
  assert.ok(Date.now() - started < 30000);
  await wb.screenshot('interrupt');
});

ui('an error puts a diagnostic on the failing line of the file', async () => {
  await runCellAt('error.py', 4);
  await wb.waitForOutputs(has(/NameError/), { what: 'the traceback' });
  await wb.command('View: Focus Problems (Errors, Warnings, Infos)');
  const marker = wb.page.locator('.markers-panel .monaco-list-row', { hasText: 'undefined_name' }).first();
  await marker.waitFor({ timeout: 15000 });
  const text = plain(await marker.innerText());
  assert.match(text, /NameError/);
  assert.match(text, /\[Ln 5, Col \d+\]/);
  await wb.screenshot('diagnostic');
  await wb.page.keyboard.press('Escape');
  await wb.page.keyboard.press('Control+J'); // the panel away again
});

ui('a completion from the live session shows in the suggest widget', async () => {
  await runCellAt('complete.py', 2);
  await wb.waitForOutputs(has(/thing ready/), { what: 'the object' });
  await wb.goToLine(7);
  await wb.page.keyboard.type('live_thing.dyn');
  const row = wb.page.locator('.suggest-widget .monaco-list-row', { hasText: 'dynamic_attribute' }).first();
  try {
    await row.waitFor({ timeout: 5000 });
  } catch {
    await wb.page.keyboard.press('Control+Space');
    await row.waitFor({ timeout: 15000 });
  }
  await wb.screenshot('completion');
  await wb.page.keyboard.press('Escape');
});

ui("the Variables view lists the session's names", async () => {
  const header = wb.page.locator('.pane-header', { hasText: /asyncode Variables/i }).first();
  if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
  await wb.page.locator('.monaco-list-row', { hasText: 'live_thing' }).first().waitFor({ timeout: 20000 });
  await wb.screenshot('variables');
  await header.click();
});

ui('the input box runs code when compile says it is complete, else continues it', async () => {
  const input = wb.page.locator('.input-cell-container .monaco-editor').first();
  await input.click();
  // the window's toolbar shows our Restart once VS Code knows the window is ours
  await wb.page.locator('.notebook-toolbar-container a.action-label[aria-label="Restart Session"]').first().waitFor();
  await wb.page.keyboard.type('for i in range(2):');
  await wb.page.keyboard.press('Enter');
  // incomplete: a second line, indented, and nothing ran
  await wb.page.locator('.input-cell-container .view-line').nth(1).waitFor();
  await wb.page.keyboard.type('print("typed", i * 10)');
  await wb.page.keyboard.press('Enter');
  await wb.page.locator('.input-cell-container .view-line').nth(2).waitFor();
  await wb.page.keyboard.press('Enter'); // on the empty line: the block runs
  await wb.waitForOutputs(has(/typed 0\s+typed 10/), { what: 'the typed block' });
  await wb.screenshot('input-box');
  assert.ok(!(await wb.outputCells()).some((c) => /IndentationError/.test(c)), 'an incomplete line ran');
});

ui('a worker that dies is said plainly, and the next run works', async () => {
  await runCellAt('crash.py', 3);
  const note = await wb.waitForNotification(/died/);
  assert.match(note, /next run works/);
  await wb.waitForOutputs(has(/about to die[\s\S]*WorkerDied/), { what: 'the WorkerDied error' });
  await runCellAt('crash.py', 8);
  await wb.waitForOutputs(has(/alive again/), { what: 'the next run' });
});

ui('an HTML table and a PNG render in the window', async () => {
  await runCellAt('rich.py', 2);
  const deadline = Date.now() + 30000;
  let found = { table: false, png: false };
  while (Date.now() < deadline && !(found.table && found.png)) {
    for (const frame of wb.page.frames()) {
      try {
        const r = await frame.evaluate(() => {
          const all = [];
          const walk = (root) => {
            for (const el of root.querySelectorAll('*')) {
              all.push(el);
              if (el.shadowRoot) walk(el.shadowRoot);
            }
          };
          walk(document);
          const table = all.some((e) => e.tagName === 'TABLE' && /spider\s*8/.test(e.innerText));
          const png = all.some((e) => e.tagName === 'IMG' && e.naturalWidth === 40 && e.naturalHeight === 30);
          return { table, png };
        });
        found = { table: found.table || r.table, png: found.png || r.png };
      } catch {
        // not a webview
      }
    }
    if (!(found.table && found.png)) await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(found, { table: true, png: true });
  // the README's picture, once the window has scrolled the PNG into view
  const inputTop = (await wb.page.locator('.input-cell-container').first().boundingBox()).y;
  const deadlineView = Date.now() + 10000;
  for (;;) {
    let bottom = Infinity;
    for (const frame of wb.page.frames()) {
      const img = frame.locator('img').last();
      if ((await img.count().catch(() => 0)) > 0) {
        const box = await img.boundingBox().catch(() => null);
        if (box) bottom = box.y + box.height;
      }
    }
    if (bottom <= inputTop || Date.now() > deadlineView) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await wb.screenshot('rich-output');
});

ui('a 200,000-line run finishes while a palette command still answers, and loses nothing', async () => {
  await runCellAt('flood.py', 2);
  await wb.waitForOutputs(has(/flood line \d+/), { what: 'the flood to start' });
  const asked = Date.now();
  await wb.command('asyncode: Show Log');
  await wb.page.locator('.part.panel .monaco-editor', { hasText: 'asyncoded' }).first().waitFor({ timeout: 20000 });
  const answered = Date.now() - asked;
  const cells = await wb.waitForOutputs(has(/flood line 199999[\s\S]*flood done/), { what: 'the flood to end', timeout: 120000 });
  const cell = cells.find((c) => /flood done/.test(c));
  assert.match(cell, /earlier lines/);
  assert.ok(answered < 20000, `the palette command took ${answered} ms`);
  await wb.screenshot('flood');
  // the whole text is one click away: 200,000 lines
  await wb.command('asyncode: Open Whole Output');
  await wb.page.locator('.tab.active', { hasText: 'Untitled' }).waitFor({ timeout: 20000 });
  await wb.page.keyboard.press('Control+End');
  const position = wb.page.locator('.statusbar-item', { hasText: /Ln \d+, Col/ }).first();
  await wb.page.waitForFunction(() => /Ln 200001,/.test(document.querySelector('#status\\.editor\\.selection')?.innerText ?? ''), null, { timeout: 20000 });
  assert.match(plain(await position.innerText()), /Ln 200001,/);
});

ui('an .ipynb notebook runs with the asyncode kernel', async () => {
  // notebook editors are overlays of the workbench, not inside the editor group
  const toolbar = wb.page.locator('.notebook-toolbar-container', { hasText: 'Run All' }).first();
  const asText = wb.page.locator('.editor-group-container.active .view-lines', { hasText: '"cells"' }).first();
  // a workbench still registering its extensions opens .ipynb files as text: again, later
  for (let attempt = 0; ; attempt++) {
    await wb.open('nb.ipynb');
    await toolbar.or(asText).waitFor({ timeout: 30000 });
    if (!(await asText.isVisible()) || attempt === 30) break;
    await wb.command('View: Close Editor');
    await asText.waitFor({ state: 'detached' });
    await new Promise((r) => setTimeout(r, 1000));
  }
  await toolbar.waitFor({ timeout: 30000 });
  await wb.command('Notebook: Select Notebook Kernel');
  const pick = wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'asyncode' }).first();
  await pick.waitFor({ timeout: 20000 });
  await wb.screenshot('ipynb-kernel');
  await pick.click();
  await wb.page.locator('.notebook-toolbar-container', { hasText: /Run All[\s\S]*asyncode/ }).first().waitFor();
  await wb.command('Notebook: Run All');
  await wb.waitForOutputs(has(/notebook says 42/), { what: 'the notebook output', timeout: 60000 });
  await wb.screenshot('ipynb');
});
