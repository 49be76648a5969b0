import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allDeclarations } from '../../src/protocol/methods';
import { schemaMethods } from '../../src/protocol/generated';

const schema = schemaMethods as Record<string, { kind: string; direction: string }>;

test('every method of the schema is declared once, with its kind and direction', () => {
  const names = allDeclarations.map((d) => d.method);
  assert.deepEqual(names.length, new Set(names).size, 'a method is declared twice');
  for (const [method, spec] of Object.entries(schema)) {
    const d = allDeclarations.find((x) => x.method === method);
    assert.ok(d, `schema method ${method} has no declaration in src/protocol/methods.ts`);
    assert.equal(d.kind, spec.kind, `${method}: kind`);
    assert.equal(d.direction, spec.direction, `${method}: direction`);
  }
});

test('every declared method is in the schema (revision 1 included)', () => {
  for (const d of allDeclarations) assert.ok(d.method in schema, `${d.method} is declared but not in the schema's x-methods`);
});
