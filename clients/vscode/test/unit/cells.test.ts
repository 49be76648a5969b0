import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cellAt, cellCode, parseCells } from '../../src/client/cells';

const file = [
  'import asyncio', //   0
  '', //                 1
  '# %% first', //       2
  'x = 1', //            3
  'x', //                4
  '', //                 5
  '#%%', //              6
  'print(x)', //         7
  '# %% [markdown]', //  8
];

test('cells: the code before the first marker, then one per marker, with titles', () => {
  const cells = parseCells(file);
  assert.deepEqual(
    cells.map((c) => [c.markerLine, c.firstLine, c.lastLine, c.title]),
    [
      [-1, 0, 1, ''],
      [2, 3, 5, 'first'],
      [6, 7, 7, ''],
      [8, 9, 8, '[markdown]'],
    ],
  );
});

test('cells: no code before the first marker means no cell there', () => {
  assert.deepEqual(
    parseCells(['', '# %%', 'a']).map((c) => c.markerLine),
    [1],
  );
  assert.deepEqual(parseCells(['a = 1']).map((c) => [c.firstLine, c.lastLine]), [[0, 0]]);
});

test('cellAt: a marker line belongs to the cell it opens; cellCode drops trailing blanks', () => {
  const cells = parseCells(file);
  assert.equal(cellAt(cells, 2)?.title, 'first');
  assert.equal(cellAt(cells, 5)?.title, 'first');
  assert.equal(cellAt(cells, 6)?.markerLine, 6);
  assert.equal(cellAt(cells, 0)?.markerLine, -1);
  assert.deepEqual(cellCode(file, cellAt(cells, 4)!), { code: 'x = 1\nx', firstLine: 3 });
  assert.deepEqual(cellCode(file, cellAt(cells, 8)!), { code: '', firstLine: 9 });
});
