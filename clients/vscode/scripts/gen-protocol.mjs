// Generates src/protocol/generated.ts from the wire's only hand-written definition,
// schema/protocol.schema.json: one exported type per $defs entry, named by its key.
// Run by scripts/build.sh before bundling; the output is not tracked.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const here = dirname(fileURLToPath(import.meta.url));
const schemaPath = process.argv[2] ?? join(here, '..', '..', '..', 'schema', 'protocol.schema.json');
const outPath = process.argv[3] ?? join(here, '..', 'src', 'protocol', 'generated.ts');

const schema = JSON.parse(await readFile(schemaPath, 'utf8'));
const defs = schema.$defs;
// Name every definition after its key, and list them all as properties of one root so
// that each becomes a declaration of its own.
for (const [name, def] of Object.entries(defs)) def.title = name;
const root = {
  title: 'ProtocolDefinitions',
  type: 'object',
  properties: Object.fromEntries(Object.keys(defs).map((name) => [name, { $ref: `#/$defs/${name}` }])),
  additionalProperties: false,
  $defs: defs,
};
let ts = await compile(root, 'ProtocolDefinitions', {
  bannerComment:
    '/* Generated from schema/protocol.schema.json by scripts/gen-protocol.mjs: do not edit. */',
  additionalProperties: false,
  strictIndexSignatures: true,
  unreachableDefinitions: true,
  format: true,
});
// The x-methods map, as data, for the test that compares it with the declarations.
ts += `\nexport const schemaMethods = ${JSON.stringify(schema['x-methods'], null, 2)} as const;\n`;
await mkdir(dirname(outPath), { recursive: true });
await writeFile(outPath, ts);
