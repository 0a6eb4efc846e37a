// Reference side of the differential test: what graphql-js 16 answers for each
// gql-tool subcommand, as plain JSON objects (the same shapes gql-tool prints).
import {
  parse,
  validate,
  buildSchema,
  graphql,
  printSchema,
  getIntrospectionQuery,
  GraphQLError,
} from 'graphql';
import { buildExecutionContext } from 'graphql/execution/execute.js';

// The options the issue names: everything a modern client's introspection asks for.
export const INTROSPECTION_OPTIONS = Object.freeze({
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
});

export function introspectionQuery() {
  return getIntrospectionQuery(INTROSPECTION_OPTIONS);
}

const schemaCache = new Map();

// buildSchema is slow enough to matter over hundreds of cases; schemas never change
// during a run.
export function loadSchema(sdl) {
  let schema = schemaCache.get(sdl);
  if (!schema) {
    schema = buildSchema(sdl);
    schemaCache.set(sdl, schema);
  }
  return schema;
}

// What JSON.stringify makes of a GraphQLError, as a plain object.
function errorJson(error) {
  return JSON.parse(JSON.stringify(error));
}

// gql-tool validate: syntax errors, then validation errors, then (only for a valid
// document) operation-selection and variable-coercion errors, which graphql-js
// reports from execute() before any field runs.
export function referenceValidate(sdl, source, { operationName, variables } = {}) {
  const schema = loadSchema(sdl);
  let document;
  try {
    document = parse(source);
  } catch (error) {
    if (error instanceof GraphQLError) return { errors: [errorJson(error)] };
    throw error;
  }
  const validationErrors = validate(schema, document);
  if (validationErrors.length > 0) return { errors: validationErrors.map(errorJson) };
  const context = buildExecutionContext({
    schema,
    document,
    rootValue: {},
    variableValues: variables,
    operationName,
  });
  if (Array.isArray(context)) return { errors: context.map(errorJson) };
  return { errors: [] };
}

// gql-tool execute: exactly graphql({schema, source, rootValue, variableValues,
// operationName}) passed through JSON.stringify.
export async function referenceExecute(sdl, source, { operationName, variables, root } = {}) {
  const schema = loadSchema(sdl);
  const result = await graphql({
    schema,
    source,
    rootValue: root ?? {},
    variableValues: variables,
    operationName,
  });
  return JSON.parse(JSON.stringify(result));
}

// gql-tool introspect: the same as execute with no root.
export async function referenceIntrospect(sdl, source) {
  return referenceExecute(sdl, source, {});
}

// gql-tool print-schema.
export function referencePrintSchema(sdl) {
  return printSchema(loadSchema(sdl));
}
