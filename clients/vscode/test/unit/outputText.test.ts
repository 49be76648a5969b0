import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamText, Throttle } from '../../src/client/outputText';

function text(...chunks: string[]): StreamText {
  const s = new StreamText();
  for (const c of chunks) s.append(c);
  return s;
}

test('StreamText: \\r redraws the line, \\r\\n is a newline, also across chunks', () => {
  assert.equal(text('10%\r20%\r30%\n').text(), '30%\n');
  assert.equal(text('a\r\nb').text(), 'a\nb');
  assert.equal(text('a\r', '\nb').text(), 'a\nb');
  assert.equal(text('50%\r', '60%').text(), '60%');
  assert.equal(text('x\r').text(), 'x');
  assert.equal(text('\x1b[31mred\x1b[0m\n').text(), '\x1b[31mred\x1b[0m\n');
});

test('StreamText: tail keeps the last lines and counts the others', () => {
  const s = text('1\n2\n3\n4\n5\n');
  assert.deepEqual(s.tail(2), { text: '4\n5\n', hidden: 3 });
  assert.deepEqual(s.tail(10), { text: '1\n2\n3\n4\n5\n', hidden: 0 });
  s.append('6');
  assert.deepEqual(s.tail(2), { text: '5\n6', hidden: 4 });
  assert.equal(s.lineCount, 6);
  s.clear();
  assert.ok(s.isEmpty);
});

test('Throttle: the first request flushes at once, a burst flushes once per interval', async () => {
  let flushes = 0;
  const t = new Throttle(() => flushes++, 50);
  t.request();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(flushes, 1);
  const start = Date.now();
  while (Date.now() - start < 120) {
    t.request();
    await new Promise((r) => setTimeout(r, 1));
  }
  t.now();
  assert.ok(flushes >= 2 && flushes <= 5, `flushes: ${flushes}`);
  t.dispose();
});
