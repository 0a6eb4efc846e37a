// bench_graphqljs: graphql-js 16 doing parse + validate of the same documents over the same
// schema as bench_graphql, printed in the same form: js NAME parse+validate OPERATIONS_PER_SECOND
//
// usage: node bench_graphqljs.mjs GRAPHQL_MODULE_DIR --schema SDL [--seconds S] DOCUMENT.graphql...
//   GRAPHQL_MODULE_DIR holds node_modules/graphql (tests/graphql after npm ci).
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [moduleDir, ...args] = process.argv.slice(2);
let schemaPath = null;
let seconds = 1;
const documents = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--schema') schemaPath = args[++i];
  else if (args[i] === '--seconds') seconds = Number(args[++i]);
  else documents.push(args[i]);
}
if (!moduleDir || !schemaPath || documents.length === 0 || !(seconds > 0)) {
  process.stderr.write('usage: node bench_graphqljs.mjs GRAPHQL_MODULE_DIR --schema SDL [--seconds S] DOCUMENT.graphql...\n');
  process.exit(2);
}
const { buildSchema, parse, validate } = await import(
  pathToFileURL(join(moduleDir, 'node_modules', 'graphql', 'index.mjs')).href
);
const schema = buildSchema(readFileSync(schemaPath, 'utf8'));

function once(source, name) {
  const errors = validate(schema, parse(source));
  if (errors.length > 0) throw new Error(`${name} is invalid: ${errors.map((e) => e.message).join('; ')}`);
}

// CPU time of the process (JIT and GC threads included), as the C side measures.
function cpuSeconds(since) {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

// Same method as the C side: batches, growing until a tenth of the time, until the round's
// time; 5 rounds of seconds / 5, the best one counts.
const ROUNDS = 5;
function roundRate(source, name, roundSeconds) {
  let operations = 0;
  let batch = 16;
  const start = process.cpuUsage();
  let elapsed;
  do {
    for (let i = 0; i < batch; i++) once(source, name);
    operations += batch;
    elapsed = cpuSeconds(start);
    if (elapsed < roundSeconds / 10) batch *= 2;
  } while (elapsed < roundSeconds);
  return operations / elapsed;
}

function rate(source, name) {
  for (let i = 0; i < 2000; i++) once(source, name); // let the JIT settle first
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) best = Math.max(best, roundRate(source, name, seconds / ROUNDS));
  return best;
}

for (const path of documents) {
  const name = basename(path, '.graphql');
  process.stdout.write(`js ${name} parse+validate ${rate(readFileSync(path, 'utf8'), name).toFixed(1)}\n`);
}
