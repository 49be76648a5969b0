// What the extension uses of protocol revision 1. Each test skips while the daemon says
// it speaks revision 0 (initialize without protocolRevision), and runs once it says 1.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Daemon } from '../../src/client/daemon';
import { Runs, type RunSink } from '../../src/client/runs';
import * as m from '../../src/protocol/methods';
import type { DisplayParams, ErrorInfo, StatusParams } from '../../src/protocol/wire';
import { startDaemon, until } from './helpers';

let daemon: Daemon;
let runs: Runs;
const orphan: RunSink = { output() {} };
before(async () => {
  daemon = await startDaemon();
  runs = new Runs(daemon, orphan);
});
after(() => daemon.stop());

function sink() {
  const s = {
    displays: [] as DisplayParams[],
    clears: [] as boolean[],
    taskErrors: [] as ErrorInfo[],
    text: '',
    output(_: string, t: string) {
      s.text += t;
    },
    display(p: DisplayParams) {
      s.displays.push(p);
    },
    clearOutput(wait: boolean) {
      s.clears.push(wait);
    },
    taskError(e: ErrorInfo) {
      s.taskErrors.push(e);
    },
  };
  return s;
}

test('revision 1: display ids, updates and clear_output reach the run by its tag', async (t) => {
  if (daemon.revision < 1) return t.skip('the daemon speaks protocol revision 0');
  const s = sink();
  await runs.start({ code: 'h = display("a", display_id=True)\nh.update("b")\nclear_output(wait=True)\nprint("c")' }, s).done;
  assert.equal(s.displays.length, 2);
  assert.ok(s.displays[0].displayId);
  assert.equal(s.displays[1].displayId, s.displays[0].displayId);
  assert.equal(s.displays[1].update, true);
  assert.deepEqual(s.clears, [true]);
  assert.equal(s.text, 'c\n');
});

test("revision 1: a task's exception comes as taskError to its run", async (t) => {
  if (daemon.revision < 1) return t.skip('the daemon speaks protocol revision 0');
  const s = sink();
  await runs.start({ code: 'import asyncio\nasync def boom():\n    raise ValueError("in a task")\nasyncio.ensure_future(boom())\nawait asyncio.sleep(0.05)' }, s).done;
  await until(() => s.taskErrors.length > 0, 5000, 'the task error');
  assert.equal(s.taskErrors[0].type, 'ValueError');
});

test('revision 1: firstLine is sent as it is, and frames carry columns', async (t) => {
  if (daemon.revision < 1) return t.skip('the daemon speaks protocol revision 0');
  const r = await runs.start({ code: 'x = 1\ny = x + nope', filename: '/tmp/f.py', firstLine: 20 }, sink()).done;
  const frame = r.error!.traceback.at(-1)!;
  assert.equal(frame.line, 21);
  assert.equal(frame.column, 8);
});

test('revision 1: variables as a tree, children by ref', async (t) => {
  if (daemon.revision < 1) return t.skip('the daemon speaks protocol revision 0');
  await runs.start({ code: 'tree_value = {"k": [1, 2, 3]}' }, sink()).done;
  const top = await daemon.request(m.variables, {});
  const v = top.variables.find((x) => x.name === 'tree_value')!;
  assert.ok(v.ref);
  const children = await daemon.request(m.variables, { ref: v.ref, start: 0, count: 10 });
  assert.equal(children.total, 1);
  assert.equal(children.variables[0].length, 3);
});

test('revision 1: completion cursors in UTF-16, as VS Code counts', async (t) => {
  if (daemon.revision < 1) return t.skip('the daemon speaks protocol revision 0');
  await runs.start({ code: 'emoji_value = "😀"' }, sink()).done;
  const code = '"😀"; emoji_va';
  const r = await daemon.request(m.complete, { code, cursor: code.length });
  assert.equal(r.cursorEnd, code.length);
  assert.equal(r.cursorStart, code.length - 'emoji_va'.length);
});

test('revision 1: a worker that dies says so in status, with a reason', async (t) => {
  if (daemon.revision < 1) return t.skip('the daemon speaks protocol revision 0');
  const statuses: StatusParams[] = [];
  const sub = daemon.connection.onNotification(m.status, (p) => statuses.push(p));
  try {
    const r = await runs.start({ code: 'import os; os._exit(3)' }, sink()).done;
    assert.equal(r.error?.type, 'WorkerDied');
    await until(() => statuses.some((s) => s.state === 'dead'), 5000, 'the dead status');
    const dead = statuses.find((s) => s.state === 'dead')!;
    assert.equal(dead.reason, 'crash');
    assert.equal(dead.exitCode, 3);
    const next = await runs.start({ code: '1 + 1' }, sink()).done;
    assert.equal(next.result?.['text/plain'], '2');
  } finally {
    sub.dispose();
  }
});
