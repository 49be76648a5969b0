import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Daemon } from '../../src/client/daemon';
import { findStatement } from '../../src/client/statement';
import * as m from '../../src/protocol/methods';
import { startDaemon } from './helpers';

let daemon: Daemon;
let compiles = 0;
const compile = async (code: string) => {
  compiles++;
  return (await daemon.request(m.compile, { code, mode: 'cell' })).status;
};
before(async () => {
  daemon = await startDaemon();
});
after(() => daemon.stop());

const file = [
  'import asyncio', //                 0
  '', //                               1
  '@decorator', //                     2
  'async def f(x):', //                3
  '    # a comment', //                4
  '', //                               5
  '    return [x,', //                 6
  '1]', //                             7  (a bracket's continuation at column 0)
  '', //                               8
  'if f:', //                          9
  '    y = 1', //                      10
  'else:', //                          11
  '    y = 2', //                      12
  'z = (1 +', //                       13
  '     2)', //                        14
  '# trailing comment', //             15
];

async function range(cursor: number) {
  const r = await findStatement(file, cursor, compile);
  return r && [r.first, r.last, r.next, r.status];
}

test('a simple statement is its line; the cursor goes to the next code line', async () => {
  assert.deepEqual(await range(0), [0, 0, 2, 'complete']);
});

test('from a blank line, the next statement runs', async () => {
  assert.deepEqual(await range(1), [2, 7, 9, 'complete']);
});

test('a decorated function from any of its lines, with a bracket closing at column 0', async () => {
  for (const cursor of [2, 3, 4, 6, 7]) assert.deepEqual(await range(cursor), [2, 7, 9, 'complete'], `line ${cursor}`);
});

test('if/else is one statement, from either branch', async () => {
  for (const cursor of [9, 10, 11, 12]) assert.deepEqual(await range(cursor), [9, 12, 13, 'complete'], `line ${cursor}`);
});

test('a bracketed expression over two lines; nothing after the last code', async () => {
  assert.deepEqual(await range(14), [13, 14, 16, 'complete']);
  assert.equal(await findStatement(file, 15, compile), undefined);
});

test('few compiles: only where the next line could start a statement', async () => {
  compiles = 0;
  await range(10);
  assert.ok(compiles <= 2, `compiles: ${compiles}`);
});

test('invalid code is found as far as it goes, for the error to show', async () => {
  const r = await findStatement(['x = = 1', 'y = 2'], 0, compile);
  assert.deepEqual(r && [r.first, r.last, r.status], [0, 0, 'invalid']);
});
