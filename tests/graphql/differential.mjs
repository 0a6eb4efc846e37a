#!/usr/bin/env node
// Differential test: feeds every corpus document to gql-tool (tvsync's C engine) and to
// graphql-js 16 over the same schema; any difference in what a client could see fails.
//
// usage: node differential.mjs [--tool PATH] [--only REGEX] [--list] [--documents DIR]
//   --tool       the gql-tool executable (default: $GQL_TOOL, else $TVSYNC_BUILDDIR/server/graphql/gql-tool)
//   --only       run only the cases whose name matches REGEX
//   --documents  instead of the corpus, every file in DIR against the test schema (for
//                example a fuzzer's corpus: differences there are engine bugs nobody wrote
//                a case for yet)
// Exit status: 0 when every case agrees, 1 when any differs, 2 on a usage error.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildClientSchema, printSchema } from 'graphql';
import {
  introspectionQuery,
  referenceExecute,
  referenceIntrospect,
  referencePrintSchema,
  referenceValidate,
} from './reference.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const srcdir = resolve(process.env.TVSYNC_SRCDIR ?? join(here, '..', '..'));
// The schema and corpus live in the source tree; the scripts may run from a copy in
// the build tree (make distcheck's source tree is read-only, so node_modules goes there).
const dataDir = join(srcdir, 'tests', 'graphql');
const builddir = resolve(process.env.TVSYNC_BUILDDIR ?? srcdir);
const TOOL_TIMEOUT_MS = 20000;
const MAX_DIFF_LINES = 15;

// Each schema the engine is compared on, with the corpus folder whose cases use it.
// The blog example's schema joins when examples/blog/schema.graphql exists.
const SCHEMAS = [
  { name: 'test', file: join(dataDir, 'schema.graphql'), corpus: join(dataDir, 'corpus'), root: join(dataDir, 'root.json'), required: true },
  { name: 'blog', file: join(srcdir, 'examples', 'blog', 'schema.graphql'), corpus: join(dataDir, 'corpus-blog'), root: join(dataDir, 'root-blog.json'), required: false, derive: true },
];

// A schema file with read-model declarations, as tvsync-server serves it (derive_schema,
// built by make check), in a file of its own: both engines take plain SDL.
function deriveSchema(file) {
  const tool = join(builddir, 'tests', 'graphql', 'derive_schema');
  const result = spawnSync(tool, [file], { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS });
  if (result.error || result.status !== 0)
    throw new Error(`${tool} ${file}: ${result.error ? result.error.message : result.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), 'tvsync-derived-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const derived = join(dir, 'schema.graphql');
  writeFileSync(derived, result.stdout);
  return derived;
}

function parseCommandLine(argv) {
  const options = { tool: process.env.GQL_TOOL, only: null, list: false, documents: null };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--tool': options.tool = argv[++i]; break;
      case '--only': options.only = new RegExp(argv[++i]); break;
      case '--list': options.list = true; break;
      case '--documents': options.documents = argv[++i]; break;
      default:
        process.stderr.write(`differential: unknown argument ${argv[i]}\n`);
        process.exit(2);
    }
  }
  if (!options.tool) options.tool = join(builddir, 'server', 'graphql', 'gql-tool');
  return options;
}

// ---- running the engine ----------------------------------------------------------

function runTool(tool, args, input) {
  const result = spawnSync(tool, args, {
    input,
    encoding: 'utf8',
    timeout: TOOL_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  const command = `gql-tool ${args.map((a) => (/^[\w./:-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`;
  if (result.error) return { failure: `${command}: ${result.error.message}` };
  if (result.signal) return { failure: `${command}: killed by ${result.signal}\n${result.stderr}` };
  if (result.status !== 0) return { failure: `${command}: exit status ${result.status}\n${result.stderr}` };
  return { stdout: result.stdout, stderr: result.stderr, command };
}

function runToolJson(tool, args, input) {
  const run = runTool(tool, args, input);
  if (run.failure) return run;
  try {
    return { json: JSON.parse(run.stdout), command: run.command };
  } catch (error) {
    return { failure: `${run.command}: output is not JSON (${error.message}):\n${run.stdout.slice(0, 2000)}` };
  }
}

// ---- comparing -------------------------------------------------------------------

function describe(value) {
  const text = JSON.stringify(value);
  return text === undefined ? 'undefined' : text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

// Lists where two JSON values differ, path by path, including the order of object
// keys: a response's field order is part of the GraphQL contract.
function jsonDiff(expected, actual, path = '$', out = []) {
  if (out.length >= MAX_DIFF_LINES) return out;
  const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(expected) !== kind(actual)) {
    out.push(`${path}: graphql-js ${describe(expected)}, engine ${describe(actual)}`);
  } else if (kind(expected) === 'array') {
    if (expected.length !== actual.length) {
      out.push(`${path}: graphql-js has ${expected.length} items, engine ${actual.length}`);
    }
    for (let i = 0; i < Math.min(expected.length, actual.length); i++) jsonDiff(expected[i], actual[i], `${path}[${i}]`, out);
  } else if (kind(expected) === 'object') {
    const ek = Object.keys(expected);
    const ak = Object.keys(actual);
    for (const k of ek) if (!(k in actual)) out.push(`${path}.${k}: missing in engine (graphql-js ${describe(expected[k])})`);
    for (const k of ak) if (!(k in expected)) out.push(`${path}.${k}: only in engine (${describe(actual[k])})`);
    const common = ek.filter((k) => k in actual);
    const commonActual = ak.filter((k) => k in expected);
    if (common.join('\u0000') !== commonActual.join('\u0000')) {
      out.push(`${path}: key order differs: graphql-js [${common.join(', ')}], engine [${commonActual.join(', ')}]`);
    }
    for (const k of common) jsonDiff(expected[k], actual[k], `${path}.${k}`, out);
  } else if (expected !== actual) {
    out.push(`${path}: graphql-js ${describe(expected)}, engine ${describe(actual)}`);
  }
  return out.slice(0, MAX_DIFF_LINES);
}

// A canonical text for one error, keys sorted, so errors compare as values.
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// Errors compare as sorted multisets. graphql-js runs all validation rules in one
// parallel traversal, so the order of its validation errors is an accident of that
// traversal and of the rule list; the order of execution errors is the order in which
// fields complete, which the specification leaves open too. Nothing a client can rely
// on depends on it, so neither order is compared. Messages, locations and paths are.
function compareErrors(expected, actual, label) {
  if (!Array.isArray(actual)) return [`${label}: engine's "errors" is ${describe(actual)}, not an array`];
  const count = (list) => {
    const map = new Map();
    for (const e of list) map.set(canonical(e), (map.get(canonical(e)) ?? 0) + 1);
    return map;
  };
  const e = count(expected);
  const a = count(actual);
  const out = [];
  for (const [key, n] of e) {
    for (let i = a.get(key) ?? 0; i < n; i++) out.push(`${label}: only graphql-js: ${key}`);
  }
  for (const [key, n] of a) {
    for (let i = e.get(key) ?? 0; i < n; i++) out.push(`${label}: only engine:     ${key}`);
  }
  return out;
}

function compareResponses(expected, actual, label) {
  const out = [];
  const expectedKeys = Object.keys(expected).filter((k) => k !== 'errors');
  const actualKeys = Object.keys(actual).filter((k) => k !== 'errors');
  if (canonical(expectedKeys.sort()) !== canonical(actualKeys.sort())) {
    out.push(`${label}: top-level keys: graphql-js [${Object.keys(expected)}], engine [${Object.keys(actual)}]`);
  }
  if ('data' in expected && 'data' in actual) out.push(...jsonDiff(expected.data, actual.data, `${label} data`));
  out.push(...compareErrors(expected.errors ?? [], actual.errors ?? [], `${label} errors`));
  if ('errors' in expected !== 'errors' in actual) {
    out.push(`${label}: "errors" key present: graphql-js ${'errors' in expected}, engine ${'errors' in actual}`);
  }
  return out;
}

function textDiff(expected, actual, label) {
  const e = expected.split('\n');
  const a = actual.split('\n');
  for (let i = 0; i < Math.max(e.length, a.length); i++) {
    if (e[i] !== a[i]) {
      return [
        `${label}: first difference at line ${i + 1}`,
        `  graphql-js: ${e[i] === undefined ? '<end>' : JSON.stringify(e[i])}`,
        `  engine:     ${a[i] === undefined ? '<end>' : JSON.stringify(a[i])}`,
      ];
    }
  }
  return [];
}

// ---- the corpus ------------------------------------------------------------------

function loadCases(schema, documentsDir) {
  if (documentsDir) {
    return readdirSync(documentsDir)
      .filter((f) => !f.startsWith('.'))
      .sort()
      .map((f) => ({ name: `${schema.name}/${f}`, source: readFileSync(join(documentsDir, f), 'latin1'), root: schema.rootValue }))
      // gql-tool reads bytes, graphql-js a string: compare only documents that are UTF-8.
      .filter((c) => {
        c.source = Buffer.from(c.source, 'latin1').toString('utf8');
        return !c.source.includes('\uFFFD');
      })
      .map((c) => {
        // fuzz_validate's convention: variables in a last "#vars:" comment line, when JSON.
        const at = c.source.lastIndexOf('#vars:');
        if (at < 0) return c;
        try {
          const variables = JSON.parse(c.source.slice(at + 6).split(/[\r\n]/)[0]);
          if (variables && typeof variables === 'object' && !Array.isArray(variables)) c.variables = variables;
        } catch {
          // not JSON: the document runs without variables
        }
        return c;
      });
  }
  if (!existsSync(schema.corpus)) return [];
  return readdirSync(schema.corpus)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => {
      const base = join(schema.corpus, f.slice(0, -'.graphql'.length));
      const options = existsSync(`${base}.json`) ? JSON.parse(readFileSync(`${base}.json`, 'utf8')) : {};
      return {
        name: `${schema.name}/${basename(base)}`,
        source: readFileSync(`${base}.graphql`, 'utf8'),
        operationName: options.operationName,
        variables: options.variables,
        // Cases without their own root value execute against the schema's shared one.
        root: options.root ?? schema.rootValue,
        // A difference already reported to the engine's authors: shown, not counted as a
        // failure, and the case fails as soon as the engine agrees (so the mark gets removed).
        knownDifference: options.knownDifference,
      };
    });
}

async function checkCase(tool, schema, testCase, scratch) {
  const problems = [];
  const common = ['--schema', schema.file];
  if (testCase.operationName !== undefined) common.push('--operation', testCase.operationName);
  if (testCase.variables !== undefined) common.push('--variables', JSON.stringify(testCase.variables));

  const reference = referenceValidate(schema.sdl, testCase.source, testCase);
  const engine = runToolJson(tool, ['validate', ...common], testCase.source);
  if (engine.failure) {
    problems.push(`validate: ${engine.failure}`);
  } else {
    const accepted = (r) => Array.isArray(r.errors) && r.errors.length === 0;
    if (accepted(reference) !== accepted(engine.json)) {
      problems.push(`validate: graphql-js ${accepted(reference) ? 'accepts' : 'rejects'} the document, engine ${accepted(engine.json) ? 'accepts' : 'rejects'} it`);
    }
    problems.push(...compareResponses(reference, engine.json, 'validate'));
  }

  const rootFile = join(scratch, 'root.json');
  writeFileSync(rootFile, JSON.stringify(testCase.root));
  const expected = await referenceExecute(schema.sdl, testCase.source, testCase);
  const actual = runToolJson(tool, ['execute', ...common, '--root', rootFile], testCase.source);
  if (actual.failure) problems.push(`execute: ${actual.failure}`);
  else problems.push(...compareResponses(expected, actual.json, 'execute'));
  return problems;
}

// Schema-wide checks: the full introspection query a client sends, that graphql-js's
// own buildClientSchema accepts the engine's answer and prints the same SDL back, and
// the engine's printSchema.
async function checkSchema(tool, schema) {
  const results = [];
  const query = introspectionQuery();
  const expected = await referenceIntrospect(schema.sdl, query);
  const actual = runToolJson(tool, ['introspect', '--schema', schema.file], query);
  const introspectionProblems = [];
  const roundTripProblems = [];
  if (actual.failure) {
    introspectionProblems.push(`introspect: ${actual.failure}`);
    roundTripProblems.push('no introspection result to build a client schema from');
  } else {
    introspectionProblems.push(...compareResponses(expected, actual.json, 'introspect'));
    try {
      const printed = printSchema(buildClientSchema(actual.json.data));
      roundTripProblems.push(...textDiff(referencePrintSchema(schema.sdl), printed, 'printSchema(buildClientSchema(engine))'));
    } catch (error) {
      roundTripProblems.push(`buildClientSchema rejects the engine's introspection: ${error.message}`);
    }
  }
  results.push({ name: `${schema.name}/schema:introspection`, problems: introspectionProblems });
  results.push({ name: `${schema.name}/schema:client-schema-round-trip`, problems: roundTripProblems });

  const printed = runTool(tool, ['print-schema', '--schema', schema.file], '');
  const printProblems = printed.failure
    ? [`print-schema: ${printed.failure}`]
    : textDiff(referencePrintSchema(schema.sdl), printed.stdout.replace(/\n$/, ''), 'print-schema');
  results.push({ name: `${schema.name}/schema:print-schema`, problems: printProblems });
  return results;
}

async function main() {
  const options = parseCommandLine(process.argv.slice(2));
  const schemas = [];
  for (const schema of SCHEMAS) {
    if (!existsSync(schema.file)) {
      if (schema.required) throw new Error(`schema ${schema.file} is missing`);
      process.stdout.write(`note: ${schema.file} does not exist yet; its cases are not run\n`);
      continue;
    }
    const rootValue = existsSync(schema.root) ? JSON.parse(readFileSync(schema.root, 'utf8')) : {};
    const file = schema.derive ? deriveSchema(schema.file) : schema.file;
    schemas.push({ ...schema, file, sdl: readFileSync(file, 'utf8'), rootValue });
  }
  if (options.list) {
    for (const schema of schemas) for (const c of loadCases(schema)) process.stdout.write(`${c.name}\n`);
    return 0;
  }
  if (!existsSync(options.tool)) {
    process.stderr.write(`differential: gql-tool not found at ${options.tool} (build it, or pass --tool)\n`);
    return 1;
  }

  const scratch = mkdtempSync(join(tmpdir(), 'tvsync-differential-'));
  let passed = 0;
  let failed = 0;
  let known = 0;
  const report = ({ name, problems, knownDifference }) => {
    const details = () => problems.map((p) => `  ${p.replace(/\n/g, '\n    ')}`).join('\n');
    if (knownDifference !== undefined) {
      if (problems.length === 0) {
        failed++;
        process.stdout.write(`FAIL ${name}\n  agrees with graphql-js now: remove its knownDifference mark (gen-corpus.mjs)\n`);
      } else {
        known++;
        process.stdout.write(`KNOWN ${name} (${knownDifference})\n${details()}\n`);
      }
      return;
    }
    if (problems.length === 0) {
      passed++;
      return;
    }
    failed++;
    process.stdout.write(`FAIL ${name}\n${details()}\n`);
  };
  try {
    for (const schema of options.documents ? schemas.slice(0, 1) : schemas) {
      if (!options.documents) {
        for (const result of await checkSchema(options.tool, schema)) {
          if (!options.only || options.only.test(result.name)) report(result);
        }
      }
      for (const testCase of loadCases(schema, options.documents)) {
        if (options.only && !options.only.test(testCase.name)) continue;
        report({
          name: testCase.name,
          problems: await checkCase(options.tool, schema, testCase, scratch),
          knownDifference: testCase.knownDifference,
        });
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  process.stdout.write(`${passed} passed, ${failed} failed${known ? ` (and ${known} known difference${known > 1 ? 's' : ''})` : ''}\n`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

process.exitCode = await main();
