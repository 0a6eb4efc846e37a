#!/usr/bin/env node
// A stand-in for gql-tool built on graphql-js, with the same command line and output.
// It lets the differential runner be tested on its own: with GQL_FAKE_BREAK set it
// answers slightly wrong, and the runner must notice (tests/graphql/selftest.sh).
import { readFileSync } from 'node:fs';
import {
  referenceValidate,
  referenceExecute,
  referenceIntrospect,
  referencePrintSchema,
} from './reference.mjs';

function usage(message) {
  process.stderr.write(`fake-gql-tool: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const [command, ...rest] = argv;
  const options = {};
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = rest[i + 1];
    if (value === undefined) usage(`${flag} needs a value`);
    switch (flag) {
      case '--schema': options.schema = value; break;
      case '--root': options.root = value; break;
      case '--operation': options.operationName = value; break;
      case '--variables': options.variables = value; break;
      default: usage(`unknown option ${flag}`);
    }
    i++;
  }
  if (!options.schema) usage('--schema is required');
  return { command, options };
}

// Every object's keys in reverse order: a response whose field order is wrong.
function reverseKeys(value) {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value === null || typeof value !== 'object') return value;
  const reversed = {};
  for (const key of Object.keys(value).reverse()) reversed[key] = reverseKeys(value[key]);
  return reversed;
}

// Faults the self-test injects; each one is a difference the runner must report.
function breakResult(kind, result) {
  const mode = process.env.GQL_FAKE_BREAK;
  if (!mode) return result;
  const firstError = result.errors && result.errors[0];
  if (mode === 'message' && firstError) firstError.message += ' (changed)';
  if (mode === 'location' && firstError && firstError.locations) firstError.locations[0].column += 1;
  if (mode === 'accept' && kind === 'validate') result.errors = [];
  if (mode === 'order' && result.data) result.data = reverseKeys(result.data);
  if (mode === 'introspection' && kind === 'introspect' && result.data) {
    result.data.__schema.types[0].description = 'changed';
  }
  return result;
}

async function main() {
  const { command, options } = parseArgs(process.argv.slice(2));
  const sdl = readFileSync(options.schema, 'utf8');
  const source = command === 'print-schema' ? '' : readFileSync(0, 'utf8');
  const variables = options.variables === undefined ? undefined : JSON.parse(options.variables);
  const root = options.root === undefined ? undefined : JSON.parse(readFileSync(options.root, 'utf8'));
  let output;
  switch (command) {
    case 'validate':
      output = breakResult('validate', referenceValidate(sdl, source, { operationName: options.operationName, variables }));
      break;
    case 'execute':
      output = breakResult('execute', await referenceExecute(sdl, source, { operationName: options.operationName, variables, root }));
      break;
    case 'introspect':
      output = breakResult('introspect', await referenceIntrospect(sdl, source));
      break;
    case 'print-schema': {
      let text = referencePrintSchema(sdl);
      if (process.env.GQL_FAKE_BREAK === 'print') text = text.replace('type Query', 'type  Query');
      process.stdout.write(text + '\n');
      return;
    }
    default:
      usage(`unknown command ${command}`);
  }
  process.stdout.write(JSON.stringify(output) + '\n');
}

main();
