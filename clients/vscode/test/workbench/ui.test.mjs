// UI tests in a real workbench (code-server + chromium), the .vsix installed as a user
// installs it. One workbench for all tests, in order; screenshots go to artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Workbench, vsixPath } from './harness.mjs';

const demo = `import math

# %% streaming
import asyncio, os
print("line 1")
while not os.path.exists("go"):
    await asyncio.sleep(0.05)
for i in range(2, 4):
    print(f"line {i}")
6 * 7
`;

let wb;
before(async () => {
  wb = await Workbench.start({ vsix: vsixPath(), files: { 'demo.py': demo } });
});
after(async () => {
  await wb?.stop();
});

test('Ctrl+Enter on a # %% cell streams its lines into the interactive window, in order, then its result', async () => {
  await wb.open('demo.py');
  await wb.goToLine(5);
  await wb.page.keyboard.press('Control+Enter');
  const first = await wb.waitForText('line 1', { what: 'the first line', timeout: 60000 });
  assert.ok(!first.includes('line 2'), 'the rest came before the cell was let go on');
  await wb.screenshot('run-cell-streaming');
  writeFileSync(join(wb.workspace, 'go'), '');
  const text = await wb.waitForText((t) => /line 1\s+line 2\s+line 3/.test(t) && /\b42\b/.test(t), { what: 'the result' });
  assert.match(text, /line 1\s+line 2\s+line 3/);
  await wb.screenshot('run-cell');
});
