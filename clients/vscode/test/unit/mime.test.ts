import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleItems, oneLine } from '../../src/client/mime';
import { fromDaemonOffset, toDaemonOffset } from '../../src/client/positions';

const text = (d: Uint8Array) => new TextDecoder().decode(d);

test('bundleItems: richest first, text/plain last, PNG decoded, JSON serialised', () => {
  const items = bundleItems({
    'text/plain': '<x>',
    'application/json': { a: 1 },
    'image/png': Buffer.from([137, 80, 78, 71]).toString('base64'),
    'text/html': '<b>x</b>',
  });
  assert.deepEqual(items.map((i) => i.mime), ['text/html', 'image/png', 'application/json', 'text/plain']);
  assert.deepEqual([...items[1].data], [137, 80, 78, 71]);
  assert.equal(text(items[2].data), '{"a":1}');
});

test('bundleItems: LaTeX also as Markdown math, unless the bundle has Markdown', () => {
  const items = bundleItems({ 'text/plain': 'x', 'text/latex': '\\frac{1}{2}' });
  assert.equal(text(items.find((i) => i.mime === 'text/markdown')!.data), '$$\\frac{1}{2}$$');
  const dollars = bundleItems({ 'text/plain': 'x', 'text/latex': '$x^2$' });
  assert.equal(text(dollars.find((i) => i.mime === 'text/markdown')!.data), '$x^2$');
  const both = bundleItems({ 'text/plain': 'x', 'text/latex': 'y', 'text/markdown': 'z' });
  assert.equal(both.filter((i) => i.mime === 'text/markdown').length, 1);
});

test('oneLine: the first line of text/plain, cut', () => {
  assert.equal(oneLine({ 'text/plain': '42' }), '42');
  assert.equal(oneLine({ 'text/plain': 'a\nb' }), 'a …');
  assert.equal(oneLine({ 'text/plain': 'x'.repeat(100) }, 10), 'xxxxxxxxx…');
  assert.equal(oneLine(undefined), undefined);
});

test('offsets: UTF-16 to code points and UTF-8 and back', () => {
  const s = 'a😀b';
  assert.equal(toDaemonOffset(s, 3, 'utf-32'), 2);
  assert.equal(toDaemonOffset(s, 3, 'utf-8'), 5);
  assert.equal(toDaemonOffset(s, 3, 'utf-16'), 3);
  assert.equal(fromDaemonOffset(s, 2, 'utf-32'), 3);
  assert.equal(fromDaemonOffset(s, 5, 'utf-8'), 3);
});
