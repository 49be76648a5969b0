import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as m from '../../src/protocol/methods';
import { startDaemon } from './helpers';

test('initialize answers with the daemon, its Python and the backends; stop ends the process', async () => {
  const d = await startDaemon();
  assert.equal(d.info.serverInfo.name, 'asyncoded');
  assert.match(d.info.python.version, /^3\.11\./);
  assert.ok(d.info.backends.includes('asyncio'));
  assert.ok(!d.exited);
  await d.stop();
  assert.ok(d.exited);
  await assert.rejects(d.request(m.compile, { code: '1' }), /not running/);
});

test('a daemon killed under a pending request rejects it instead of hanging', async () => {
  const d = await startDaemon();
  const pending = d.request(m.exec, { code: 'import time; time.sleep(30)' });
  // wait until the exec runs: compile answers at once, so ask for the session's state
  for (;;) {
    const list = await d.request(m.sessionList, null);
    if (list.sessions.some((s) => s.state === 'busy')) break;
  }
  d.process.kill('SIGKILL');
  await assert.rejects(pending);
  await d.stop();
});

test('revision 1: initialize says protocolRevision 1 and utf-16 positions', async (t) => {
  const d = await startDaemon();
  try {
    if (d.revision < 1) return t.skip('the daemon speaks protocol revision 0');
    assert.equal(d.info.protocolRevision, 1);
    assert.equal(d.positionEncoding, 'utf-16');
  } finally {
    await d.stop();
  }
});
