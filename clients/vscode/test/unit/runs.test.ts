import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Daemon } from '../../src/client/daemon';
import { Runs, type Run, type RunSink } from '../../src/client/runs';
import type { DisplayParams, Stream } from '../../src/protocol/wire';
import { startDaemon, until } from './helpers';

class Recorder implements RunSink {
  text = '';
  chunks: { stream: Stream; text: string }[] = [];
  displays: DisplayParams[] = [];
  events: string[] = [];
  output(stream: Stream, text: string) {
    this.chunks.push({ stream, text });
    this.text += text;
    this.events.push('output');
  }
  display(p: DisplayParams) {
    this.displays.push(p);
  }
  started() {
    this.events.push('started');
  }
  finished() {
    this.events.push('finished');
  }
}

let daemon: Daemon;
let runs: Runs;
let orphan: Recorder;
before(async () => {
  daemon = await startDaemon();
  orphan = new Recorder();
  runs = new Runs(daemon, orphan);
});
after(() => daemon.stop());

test("each run gets its own output, in order, before its answer", async () => {
  const a = new Recorder();
  const b = new Recorder();
  const ra = runs.start({ code: 'for i in range(3): print("a", i)' }, a);
  const rb = runs.start({ code: 'import sys\nprint("b"); print("err", file=sys.stderr); 6*7' }, b);
  assert.equal(ra.state, 'queued');
  const [resA, resB] = await Promise.all([ra.done, rb.done]);
  assert.equal(a.text, 'a 0\na 1\na 2\n');
  assert.equal(b.text, 'b\nerr\n');
  // the daemon may cut a stream into chunks anywhere: what counts is the streams' order
  const streams = b.chunks.map((c) => c.stream).filter((s, i, all) => i === 0 || s !== all[i - 1]);
  assert.deepEqual(streams, ['stdout', 'stderr']);
  assert.equal(resB.result?.['text/plain'], '42');
  assert.equal(resA.status, 'ok');
  assert.equal(rb.execCount, ra.execCount! + 1);
  assert.deepEqual(a.events[0], 'started');
  assert.deepEqual(a.events.at(-1), 'finished');
  assert.equal(ra.state, 'done');
});

test("a task's output after its run answered still goes to that run; a thread's to nobody", async () => {
  const task = new Recorder();
  const r = runs.start(
    {
      code:
        'import asyncio, threading\n' +
        'async def later():\n    await asyncio.sleep(0.2)\n    print("late")\n' +
        't = asyncio.ensure_future(later())\n' +
        'threading.Thread(target=lambda: print("from a thread")).start()\n' +
        'await asyncio.sleep(0)',
    },
    task,
  );
  await r.done;
  await until(() => task.text.includes('late'), 5000, 'the late output');
  assert.ok(!task.text.includes('from a thread'));
  await until(() => orphan.text.includes('from a thread'), 5000, 'the thread output');
  // a later run does not take the task's output
  const next = new Recorder();
  await runs.start({ code: 'print("next")' }, next).done;
  assert.equal(next.text, 'next\n');
});

test('a run from a file names the file and its real lines in its traceback', async () => {
  const rec = new Recorder();
  const r = runs.start({ code: 'x = 1\n1/0', filename: '/tmp/example.py', firstLine: 10 }, rec);
  const res = await r.done;
  assert.equal(res.status, 'error');
  const frame = res.error!.traceback.at(-1)!;
  assert.equal(frame.filename, '/tmp/example.py');
  assert.equal(frame.line, 11);
});

test('display() reaches the run that called it, with its bundle', async () => {
  const rec = new Recorder();
  await runs.start({ code: 'class H:\n  def _repr_html_(self): return "<b>x</b>"\ndisplay(H())' }, rec).done;
  assert.equal(rec.displays.length, 1);
  assert.equal(rec.displays[0].data['text/html'], '<b>x</b>');
});

test('revision 1: execStart comes before output and the answer echoes the tag', async (t) => {
  if (daemon.revision < 1) return t.skip('the daemon speaks protocol revision 0');
  let startedBeforeOutput = false;
  const rec = new Recorder();
  rec.started = () => {
    startedBeforeOutput = rec.chunks.length === 0;
  };
  const r: Run = runs.start({ code: 'print(1)' }, rec);
  const res = await r.done;
  assert.ok(startedBeforeOutput);
  assert.equal(res.tag, r.tag);
});
