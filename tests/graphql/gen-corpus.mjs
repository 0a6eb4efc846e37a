#!/usr/bin/env node
// Writes the differential-test corpus (tests/graphql/corpus/*.graphql and .json) from the
// case list below, after checking with graphql-js that every case does what it says.
//
// usage: node gen-corpus.mjs         (rewrites corpus/; commit the result)
//        node gen-corpus.mjs --check (fails if corpus/ differs from what it would write)
//
// Each case names what it expects: `valid`, or a piece of the error message graphql-js
// must give. That keeps a negative case from silently testing the wrong rule (a typo
// in a document would otherwise turn it into a syntax-error case).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { referenceValidate, referenceExecute } from './reference.mjs';

// The corpus lives in the source tree; the script may run from a copy (see node-env.sh).
const here = process.env.TVSYNC_SRCDIR
  ? join(process.env.TVSYNC_SRCDIR, 'tests', 'graphql')
  : dirname(fileURLToPath(import.meta.url));
const corpusDir = join(here, 'corpus');
const sdl = readFileSync(join(here, 'schema.graphql'), 'utf8');
const sharedRoot = JSON.parse(readFileSync(join(here, 'root.json'), 'utf8'));

const cases = [];
// expect: 'valid' | substring of one of graphql-js's messages (validate or, with
// `stage: 'execute'`, of the execution result).
function add(name, source, expect, options = {}) {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`bad case name ${name}`);
  if (cases.some((c) => c.name === name)) throw new Error(`duplicate case name ${name}`);
  cases.push({ name, source, expect, ...options });
}
const valid = (name, source, options) => add(name, source, 'valid', options);
const invalid = (name, source, message, options) => add(name, source, message, options);

// ---- the kitchen sink --------------------------------------------------------------

valid('kitchen-sink', `# Every executable construct, valid against the test schema.
query KitchenSink(
  $id: ID! = "u1"
  $color: Color = GREEN
  $filter: PostFilter = {titleContains: "a", tags: ["x", "y"], nested: {depth: 2, matrix: [[1, 2], [3]]}}
  $first: Int
  $skipEmail: Boolean! = true
  $order: [PostOrder!] @onVariable(note: "v")
) @cached(ttl: 30, scope: PRIVATE) {
  whoever: node(id: $id) {
    id
    __typename
    ... on User @trace(label: "inline") {
      name
      email @skip(if: $skipEmail)
      friends(first: $first) { id ...UserBits @trace @trace(level: 2) }
      ...UserBits
    }
    ... @include(if: true) { id }
  }
  posts(filter: $filter, orderBy: $order, first: 2) {
    title
    body(format: MARKDOWN)
    author { ...UserBits }
    comments(limit: 3, order: DESC) { body, score }
    tags
  }
  search(text: """block "string" with \\""" escape""") {
    __typename
    ... on Node { id }
    ... on Post { title }
    ... on Comment { body }
  }
  echoFloat(value: -1.5e3)
  echoList(values: [1, -2, 0])
  echoJson(value: {a: [1, 2.5, "s", true, null, ENUMISH]})
  echoColor(value: $color)
  unicode: echoString(value: "\\u00e9\\u{1F600}\\uD83D\\uDE00\\n\\t\\"\\\\\\/")
  me { ...UserBits }
}

fragment UserBits on User @onFragment(tag: "f") {
  name
  age
  favoriteColor
  createdAt
}
`);

invalid('kitchen-sink-syntax', `# Every piece of syntax; the names are not in the test schema, so it fails
# validation in many ways at once.
query queryName($foo: ComplexType, $site: Site = MOBILE) @onQuery {
  whoever123is: node(id: [123, 456]) {
    id ,
    ... on User @onInlineFragment {
      field2 {
        id ,
        alias: field1(first:10, after:$foo,) @include(if: $foo) {
          id,
          ...frag @onFragmentSpread
        }
      }
    }
    ... @skip(unless: $foo) {
      id
    }
    ... {
      id
    }
  }
}

mutation likeStory @onMutation {
  like(story: 123) @onField {
    story {
      id @onField
    }
  }
}

subscription StoryLikeSubscription($input: StoryLikeSubscribeInput @onVariableDefinition) @onSubscription {
  storyLikeSubscribe(input: $input) {
    story {
      likers { count }
      likeSentence { text }
    }
  }
}

fragment frag on Friend @onFragmentDefinition {
  foo(size: $size, bar: $b, obj: {key: "value", block: """

      block string uses \\"""

  """})
}

{
  unnamed(truthy: true, falsy: false, nullish: null),
  query
}

query { __typename }
`, 'Unknown type "ComplexType".');

valid('mutation-kitchen-sink', `mutation Create($input: NewPost!, $color: Color! = RED) @onMutation {
  createPost(input: $input) { id title body author { id name } tags }
  deletePost(id: 7)
  setColor(color: $color)
  __typename
}
`, { variables: { input: { title: 'New', authorId: 'u1', tags: ['new'] } } });

// ---- validation rules: one or more valid and invalid cases each ------------------

// ExecutableDefinitions
valid('rule-executable-definitions-ok', 'query A { version }\nfragment F on Query { version }\nquery Q { ...F }\n', { operationName: 'Q' });
invalid('rule-executable-definitions-type', '{ version }\n\ntype Foo { a: Int }\n', 'The "Foo" definition is not executable.');
invalid('rule-executable-definitions-schema', 'query Q { version }\nschema { query: Query }\nextend schema @schemaTag(name: "x")\n', 'The schema definition is not executable.');
invalid('rule-executable-definitions-directive', '{ version }\ndirective @x on FIELD\nscalar Y\nextend type Query { z: Int }\n', 'The "x" definition is not executable.');

// UniqueOperationNames
valid('rule-unique-operation-names-ok', 'query A { version }\nquery B { version }\nmutation C { deletePost(id: 1) }\n', { operationName: 'B' });
invalid('rule-unique-operation-names-twice', 'query A { version }\nquery A { echoInt }\n', 'There can be only one operation named "A".', { operationName: 'A' });
invalid('rule-unique-operation-names-mixed-kinds', 'query A { version }\nmutation A { deletePost(id: 1) }\nquery A { me { id } }\n', 'There can be only one operation named "A".');

// LoneAnonymousOperation
valid('rule-lone-anonymous-ok', '{ ...F }\nfragment F on Query { version }\n');
invalid('rule-lone-anonymous-with-named', '{ version }\nquery B { version }\n', 'This anonymous operation must be the only defined operation.');
invalid('rule-lone-anonymous-two', '{ version }\n{ echoInt }\nmutation { deletePost(id: 1) }\n', 'This anonymous operation must be the only defined operation.');

// KnownTypeNames
valid('rule-known-type-names-ok', 'query ($a: [Color!]!, $b: PostFilter, $c: DateTime, $d: JSON) { echoColor(values: $a) echoInput(input: $b) echoDate(value: $c) echoJson(value: $d) named { ... on Tag { name } } }\n', { variables: { a: ['RED'] } });
invalid('rule-known-type-names-variable', 'query ($a: Unknown, $b: [Strin!]) { echoString(value: $b) echoInt(value: $a) }\n', 'Unknown type "Strin". Did you mean "String" or "Sort"?');
invalid('rule-known-type-names-fragment', 'fragment F on Usr { id }\n{ me { ...F ... on Pots { id } } }\n', 'Unknown type "Usr". Did you mean "User"?');
invalid('rule-known-type-names-no-suggestion', '{ node(id: 1) { ... on Zzzzzzzz { id } } }\n', 'Unknown type "Zzzzzzzz".');
invalid('rule-known-type-names-many-suggestions', 'query ($p: Pst, $c: Colr, $n: Nod) { version }\n', 'Unknown type "Pst".');

// FragmentsOnCompositeTypes
valid('rule-fragments-on-composite-ok', '{ named { ... on Entity { id } ... on Named { name } } content { ... on Content { __typename } } }\n');
invalid('rule-fragments-on-composite-named', 'fragment F on String { length }\n{ ...F }\n', 'Fragment "F" cannot condition on non composite type "String".');
invalid('rule-fragments-on-composite-inline', '{ me { favoriteColor { ... on Color { x } } } }\n', 'Fragment cannot condition on non composite type "Color".');
invalid('rule-fragments-on-composite-input', 'fragment F on PostFilter { tags }\n{ ...F }\n', 'Fragment "F" cannot condition on non composite type "PostFilter".');

// VariablesAreInputTypes
valid('rule-variables-input-types-ok', 'query ($a: Int, $b: [[Int!]], $c: NestedFilter!, $d: Sort) { echoInt(value: $a) echoMatrix(values: $b) echoNested(input: $c) posts(orderBy: [{field: TITLE, direction: $d}]) { id } }\n', { variables: { c: { depth: 1 } } });
invalid('rule-variables-input-types-object', 'query ($u: User, $l: [Node!]!, $s: SearchResult) { version }\n', 'Variable "$u" cannot be non-input type "User".');

// ScalarLeafs
valid('rule-scalar-leafs-ok', '{ me { name favoriteColor metadata } echoList }\n');
invalid('rule-scalar-leafs-missing-selection', '{ me }\n', 'Field "me" of type "User!" must have a selection of subfields. Did you mean "me { ... }"?');
invalid('rule-scalar-leafs-list-missing-selection', '{ posts search(text: "x") }\n', 'Field "posts" of type "[Post!]!" must have a selection of subfields.');
invalid('rule-scalar-leafs-selection-on-scalar', '{ version { length } me { favoriteColor { name } } }\n', 'Field "version" must not have a selection since type "String" has no subfields.');
invalid('rule-scalar-leafs-selection-on-list-of-scalars', '{ nonNullList { x } }\n', 'Field "nonNullList" must not have a selection since type "[Int!]!" has no subfields.');

// FieldsOnCorrectType
valid('rule-fields-on-correct-type-ok', '{ __typename content { __typename } search(text: "a") { __typename ... on User { name } } }\n');
invalid('rule-fields-on-correct-type-unknown', '{ me { nope } }\n', 'Cannot query field "nope" on type "User".');
invalid('rule-fields-on-correct-type-suggest-field', '{ me { nam emial } }\n', 'Cannot query field "nam" on type "User". Did you mean');
invalid('rule-fields-on-correct-type-suggest-type-interface', '{ node(id: 1) { title body } }\n', 'Cannot query field "title" on type "Node". Did you mean to use an inline fragment on');
invalid('rule-fields-on-correct-type-suggest-type-union', '{ content { id score } }\n', 'Cannot query field "id" on type "Content". Did you mean to use an inline fragment on');
invalid('rule-fields-on-correct-type-root', '{ versoin unknownRootField }\n', 'Cannot query field "versoin" on type "Query". Did you mean "version"?');
invalid('rule-fields-on-correct-type-mutation', 'mutation { createPots(input: {title: "t", authorId: 1}) { id } }\n', 'Cannot query field "createPots" on type "Mutation". Did you mean "createPost" or "deletePost"?');
invalid('rule-fields-on-correct-type-in-fragment', 'fragment F on Named { name id }\n{ named { ...F } }\n', 'Cannot query field "id" on type "Named".');

// UniqueFragmentNames
valid('rule-unique-fragment-names-ok', '{ me { ...A ...B } }\nfragment A on User { id }\nfragment B on User { name }\n');
invalid('rule-unique-fragment-names-twice', '{ me { ...A } }\nfragment A on User { id }\nfragment A on User { name }\nfragment A on Node { id }\n', 'There can be only one fragment named "A".');

// KnownFragmentNames
valid('rule-known-fragment-names-ok', '{ me { ...A } }\nfragment A on User { ...B }\nfragment B on User { id }\n');
invalid('rule-known-fragment-names-unknown', '{ me { ...Missing ... on User { ...AlsoMissing } } }\n', 'Unknown fragment "Missing".');

// NoUnusedFragments
valid('rule-no-unused-fragments-ok', 'query A { me { ...F } }\nquery B { me { ...G } }\nfragment F on User { id }\nfragment G on User { ...F }\n', { operationName: 'A' });
invalid('rule-no-unused-fragments-unused', '{ me { id } }\nfragment Unused on User { id }\nfragment AlsoUnused on User { ...Unused }\n', 'Fragment "Unused" is never used.');

// PossibleFragmentSpreads
valid('rule-possible-fragment-spreads-ok', '{ named { ... on Node { id } ... on Post { title } } content { ... on Node { id } ... on Entity { name } } node(id: 1) { ... on SearchResult { __typename } ...N } }\nfragment N on Named { name }\n');
invalid('rule-possible-fragment-spreads-inline-object', '{ node(id: 1) { ... on Tag { name } } }\n', 'Fragment cannot be spread here as objects of type "Node" can never be of type "Tag".');
invalid('rule-possible-fragment-spreads-named', 'fragment T on Tag { name }\n{ node(id: 1) { ...T } }\n', 'Fragment "T" cannot be spread here as objects of type "Node" can never be of type "Tag".');
invalid('rule-possible-fragment-spreads-union', '{ content { ... on User { id } } search(text: "x") { ... on Tag { name } } }\n', 'Fragment cannot be spread here as objects of type "Content" can never be of type "User".');
invalid('rule-possible-fragment-spreads-object-object', '{ me { ... on Post { id } } }\n', 'Fragment cannot be spread here as objects of type "User" can never be of type "Post".');

// NoFragmentCycles
valid('rule-no-fragment-cycles-diamond', '{ me { ...A } }\nfragment A on User { ...B ...C }\nfragment B on User { ...C }\nfragment C on User { id }\n');
invalid('rule-no-fragment-cycles-self', '{ me { ...A } }\nfragment A on User { ...A }\n', 'Cannot spread fragment "A" within itself.');
invalid('rule-no-fragment-cycles-pair', '{ me { ...A } }\nfragment A on User { ...B }\nfragment B on User { ...A }\n', 'Cannot spread fragment "A" within itself via "B".');
invalid('rule-no-fragment-cycles-long', '{ me { ...A } }\nfragment A on User { bestFriend { ...B } }\nfragment B on User { friends { ...C } }\nfragment C on User { ... on User { ...A } }\n', 'Cannot spread fragment "A" within itself via "B", "C".');

// UniqueVariableNames
valid('rule-unique-variable-names-ok', 'query ($a: Int, $b: Int) { x: echoInt(value: $a) y: echoInt(value: $b) }\n');
invalid('rule-unique-variable-names-twice', 'query ($a: Int, $a: Int, $a: String) { echoInt(value: $a) }\n', 'There can be only one variable named "$a".');

// NoUndefinedVariables
valid('rule-no-undefined-variables-ok', 'query Q($a: Int) { ...F }\nfragment F on Query { echoInt(value: $a) }\n');
invalid('rule-no-undefined-variables-named', 'query Q { echoInt(value: $x) }\n', 'Variable "$x" is not defined by operation "Q".');
invalid('rule-no-undefined-variables-anonymous', '{ echoInt(value: $x) echoInput(input: {tags: [$y]}) }\n', 'Variable "$x" is not defined.');
invalid('rule-no-undefined-variables-via-fragment', 'query A($a: Int) { ...F }\nquery B { ...F }\nfragment F on Query { echoInt(value: $a) }\n', 'Variable "$a" is not defined by operation "B".', { operationName: 'A' });

// NoUnusedVariables
valid('rule-no-unused-variables-ok', 'query ($a: Boolean!) { version @include(if: $a) }\n', { variables: { a: true } });
invalid('rule-no-unused-variables-named', 'query Q($a: Int, $b: String) { echoInt(value: $a) }\n', 'Variable "$b" is never used in operation "Q".');
invalid('rule-no-unused-variables-anonymous', 'query ($a: Int) { version }\n', 'Variable "$a" is never used.');

// KnownDirectives
valid('rule-known-directives-ok', 'query Q($v: Int @onVariable) @cached(ttl: 1) { echoInt(value: $v) @cached(ttl: 2) ...F @trace ... @trace { version } }\nfragment F on Query @onFragment { version }\nmutation M @onMutation { deletePost(id: 1) }\n', { operationName: 'Q' });
invalid('rule-known-directives-unknown', '{ version @unknown echoInt @skp(if: true) }\n', 'Unknown directive "@unknown".');
invalid('rule-known-directives-misplaced-query', 'query Q @skip(if: true) { version }\n', 'Directive "@skip" may not be used on QUERY.');
invalid('rule-known-directives-misplaced-field', '{ version @table(name: "t") @onMutation }\n', 'Directive "@table" may not be used on FIELD.');
invalid('rule-known-directives-misplaced-mutation', 'mutation @cached(ttl: 1) { deletePost(id: 1) }\n', 'Directive "@cached" may not be used on MUTATION.');
invalid('rule-known-directives-misplaced-fragment', 'query ($a: Int @include(if: true)) { ...F @onFragment echoInt(value: $a) }\nfragment F on Query @trace { version }\n', 'Directive "@include" may not be used on VARIABLE_DEFINITION.');
invalid('rule-known-directives-subscription', 'subscription S @cached(ttl: 1) { version }\n', 'Directive "@cached" may not be used on SUBSCRIPTION.');

// UniqueDirectivesPerLocation
valid('rule-unique-directives-repeatable', '{ version @trace @trace(label: "a") @trace(level: 3) ...F @trace @trace }\nfragment F on Query { echoInt }\n');
invalid('rule-unique-directives-twice', '{ version @skip(if: true) @skip(if: false) }\n', 'The directive "@skip" can only be used once at this location.');
invalid('rule-unique-directives-operation', 'query Q @cached(ttl: 1) @cached(ttl: 2) { version @include(if: true) @include(if: true) }\n', 'The directive "@cached" can only be used once at this location.');

// KnownArgumentNames
valid('rule-known-argument-names-ok', '{ echoInt(value: 1) version @skip(if: false) me { avatar(size: 1, format: "jpg") } }\n');
invalid('rule-known-argument-names-field', '{ echoInt(valu: 1) }\n', 'Unknown argument "valu" on field "Query.echoInt". Did you mean "value"?');
invalid('rule-known-argument-names-no-suggestion', '{ me { name(xyz: 1) } }\n', 'Unknown argument "xyz" on field "User.name".');
invalid('rule-known-argument-names-directive', '{ version @skip(iff: true) }\n', 'Unknown argument "iff" on directive "@skip". Did you mean "if"?');

// UniqueArgumentNames
valid('rule-unique-argument-names-ok', '{ search(text: "a", limit: 2) { __typename } }\n');
invalid('rule-unique-argument-names-field', '{ echoInt(value: 1, value: 2) }\n', 'There can be only one argument named "value".');
invalid('rule-unique-argument-names-directive', '{ version @skip(if: true, if: false) }\n', 'There can be only one argument named "if".');

// ValuesOfCorrectType
valid('rule-values-ok-scalars', '{ echoInt(value: -2147483648) echoFloat(value: 1) b: echoFloat(value: 1.5e-3) echoString(value: "s") echoBoolean(value: true) echoId(value: 123) i: echoId(value: "abc") echoColor(value: NAVY) echoJson(value: {any: [1, "x", RED, null]}) echoDate(value: "2024-01-01") }\n');
valid('rule-values-ok-lists', '{ echoList(values: 1) a: echoList(values: [1, null, 3]) b: echoList(values: null) echoMatrix(values: [[1], [2, 3]]) c: echoMatrix(values: [1]) d: echoMatrix(values: 1) echoColor(values: RED) }\n');
valid('rule-values-ok-input-objects', '{ echoInput(input: {authorId: 1, titleContains: "t", tags: "one", minScore: 2, color: BLUE, and: {tags: []}, nested: {depth: 1, inner: {legacy: "x"}, matrix: [[1]]}}, order: {field: SCORE}) echoNested(input: {depth: 0, flag: null}) }\n');
valid('rule-values-ok-null', '{ echoInt(value: null) echoInput(input: null) echoNested(input: {depth: 1, inner: null}) }\n');
invalid('rule-values-int-from-string', '{ echoInt(value: "1") }\n', 'Int cannot represent non-integer value: "1"');
invalid('rule-values-int-from-float', '{ echoInt(value: 1.5) }\n', 'Int cannot represent non-integer value: 1.5');
invalid('rule-values-int-too-large', '{ echoInt(value: 2147483648) }\n', 'Int cannot represent non 32-bit signed integer value: 2147483648');
invalid('rule-values-int-too-small', '{ echoInt(value: -2147483649) }\n', 'Int cannot represent non 32-bit signed integer value: -2147483649');
invalid('rule-values-int-huge', '{ echoInt(value: 123456789012345678901234567890) }\n', 'Int cannot represent non 32-bit signed integer value: 123456789012345678901234567890');
invalid('rule-values-int-from-enum', '{ echoInt(value: RED) a: echoInt(value: true) b: echoInt(value: [1]) c: echoInt(value: {a: 1}) }\n', 'Int cannot represent non-integer value: RED');
invalid('rule-values-float-from-string', '{ echoFloat(value: "1.5") a: echoFloat(value: true) b: echoFloat(value: FLOAT) }\n', 'Float cannot represent non numeric value: "1.5"');
invalid('rule-values-string-from-int', '{ echoString(value: 1) a: echoString(value: 1.5) b: echoString(value: true) c: echoString(value: ABC) d: echoString(value: ["a"]) }\n', 'String cannot represent a non string value: 1');
invalid('rule-values-boolean-from-other', '{ echoBoolean(value: 1) a: echoBoolean(value: "true") b: echoBoolean(value: TRUE) }\n', 'Boolean cannot represent a non boolean value: 1');
invalid('rule-values-id-from-float', '{ echoId(value: 1.5) a: echoId(value: true) b: echoId(value: ID) }\n', 'ID cannot represent a non-string and non-integer value: 1.5');
invalid('rule-values-enum-from-string', '{ echoColor(value: "RED") }\n', 'Enum "Color" cannot represent non-enum value: "RED". Did you mean the enum value "RED" or "GREEN"?');
invalid('rule-values-enum-unknown', '{ echoColor(value: PURPLE) a: echoColor(value: RDE) b: echoColor(value: red) }\n', 'Value "PURPLE" does not exist in "Color" enum.');
invalid('rule-values-enum-from-int', '{ echoColor(value: 1) a: echoColor(value: true) b: echoColor(value: null) c: echoColor(values: [RED, null]) }\n', 'Enum "Color" cannot represent non-enum value: 1.');
invalid('rule-values-non-null-null', '{ required(a: null, b: "x") echoNested(input: null) }\n', 'Expected value of type "Int!", found null.');
invalid('rule-values-list-items', '{ echoList(values: [1, "two", 3.5]) echoMatrix(values: [[1, null], [true]]) }\n', 'Int cannot represent non-integer value: "two"');
invalid('rule-values-input-missing-required', '{ echoNested(input: {flag: true}) echoInput(input: {nested: {inner: {nested: {}}}}) }\n', 'Field "NestedFilter.depth" of required type "Int!" was not provided.');
invalid('rule-values-input-unknown-field', '{ echoInput(input: {titleContain: "x", nope: 1}) }\n', 'Field "titleContain" is not defined by type "PostFilter". Did you mean "titleContains"?');
invalid('rule-values-input-from-scalar', '{ echoInput(input: "filter") a: echoInput(input: [1]) b: echoNested(input: 1) }\n', 'Expected value of type "PostFilter", found "filter".');
invalid('rule-values-input-nested-wrong', '{ echoInput(input: {nested: {depth: "deep", matrix: [[1.5]]}, and: [{color: GREN}], order: 1}) }\n', 'Int cannot represent non-integer value: "deep"');
invalid('rule-values-printed-values', '{ a: echoInt(value: {list: [1, 2.5, "s", """block""", true, null, ENUM, {nested: []}]}) b: echoInt(value: "quote\\" backslash\\\\ tab\\t nl\\n uni\\u00e9 \\u{1F600} ctl\\u0001") }\n', 'Int cannot represent non-integer value: {list: [1, 2.5, "s", """block""", true, null, ENUM, {nested: []}]}');
invalid('rule-values-custom-scalar-variable-default', 'query ($d: DateTime = 5, $c: Color = "RED", $i: Int = 1.0) { echoDate(value: $d) echoColor(value: $c) echoInt(value: $i) }\n', 'Enum "Color" cannot represent non-enum value: "RED".');
invalid('rule-values-directive-arg', '{ version @skip(if: "yes") echoInt @cached(ttl: 1.5, scope: SHARED) }\n', 'Boolean cannot represent a non boolean value: "yes"');

// ProvidedRequiredArguments
valid('rule-provided-required-ok', '{ required(a: 1, b: "x") requiredWithDefault me { avatar } version @cached(ttl: 5) }\n');
invalid('rule-provided-required-field', '{ required(a: 1) a: required }\n', 'Field "required" argument "b" of type "String!" is required, but it was not provided.');
invalid('rule-provided-required-directive', '{ version @skip echoInt @cached(scope: PUBLIC) }\n', 'Directive "@skip" argument "if" of type "Boolean!" is required, but it was not provided.');
invalid('rule-provided-required-mutation', 'mutation { createPost { id } deletePost }\n', 'Field "createPost" argument "input" of type "NewPost!" is required, but it was not provided.');

// VariablesInAllowedPosition
valid('rule-variables-allowed-ok', 'query ($a: Int!, $b: String!, $c: Int = 1, $d: Int, $e: [Int!]!, $f: Int!) { required(a: $a, b: $b) x: required(a: $c, b: $b) requiredWithDefault(a: $d) echoList(values: $e) echoMatrix(values: [$e, [$f]]) echoNested(input: {depth: $f}) }\n', { variables: { a: 1, b: 'b', e: [1], f: 2 } });
invalid('rule-variables-allowed-nullable-to-non-null', 'query ($a: Int, $b: String!) { required(a: $a, b: $b) }\n', 'Variable "$a" of type "Int" used in position expecting type "Int!".');
invalid('rule-variables-allowed-wrong-type', 'query ($c: String, $l: [Int], $n: Int) { echoColor(value: $c) echoMatrix(values: [$l]) echoNested(input: {depth: $n}) }\n', 'Variable "$c" of type "String" used in position expecting type "Color".');
invalid('rule-variables-allowed-list-item', 'query ($i: Int) { echoMatrix(values: [[$i]]) }\n', 'Variable "$i" of type "Int" used in position expecting type "Int!".');
invalid('rule-variables-allowed-in-fragment', 'query Q($f: Float) { ...F }\nfragment F on Query { echoInt(value: $f) }\n', 'Variable "$f" of type "Float" used in position expecting type "Int".');
invalid('rule-variables-allowed-directive', 'query ($s: Boolean) { version @skip(if: $s) }\n', 'Variable "$s" of type "Boolean" used in position expecting type "Boolean!".');

// OverlappingFieldsCanBeMerged
valid('rule-overlapping-ok', '{ me { name name n: name } echoInt(value: 1) echoInt(value: 1) search(text: "a") { ... on User { x: name } ... on Post { x: name } } }\n');
valid('rule-overlapping-ok-fragments', '{ me { ...A ...B bestFriend { id } } }\nfragment A on User { bestFriend { name } }\nfragment B on User { bestFriend { name id } }\n');
invalid('rule-overlapping-aliases', '{ me { x: name x: email } }\n', 'Fields "x" conflict because "name" and "email" are different fields. Use different aliases on the fields to fetch both if this was intentional.');
invalid('rule-overlapping-arguments', '{ echoInt(value: 1) echoInt(value: 2) }\n', 'Fields "echoInt" conflict because they have differing arguments. Use different aliases on the fields to fetch both if this was intentional.');
invalid('rule-overlapping-argument-variable', 'query ($a: Int) { echoInt(value: $a) echoInt(value: 1) me { avatar avatar(size: 64) } }\n', 'Fields "echoInt" conflict because they have differing arguments.');
invalid('rule-overlapping-return-types', '{ search(text: "a") { ... on User { score } ... on Comment { score } } }\n', 'Fields "score" conflict because they return conflicting types "Float" and "Int".');
invalid('rule-overlapping-nullability', '{ search(text: "a") { ... on User { x: name } ... on Post { x: title } } }\n', 'Fields "x" conflict because they return conflicting types "String" and "String!".');
invalid('rule-overlapping-nested', '{ me { bestFriend { name } } me { bestFriend { name: email } } }\n', 'Fields "me" conflict because subfields "bestFriend" conflict because subfields "name" conflict because "name" and "email" are different fields.');
invalid('rule-overlapping-fragments', '{ me { ...A ...B } }\nfragment A on User { x: name }\nfragment B on User { x: age }\n', 'Fields "x" conflict because "name" and "age" are different fields.');
invalid('rule-overlapping-scalar-and-object', '{ me { x: name x: bestFriend { id } } }\n', 'Fields "x" conflict because "name" and "bestFriend" are different fields.');
invalid('rule-overlapping-list-shapes', '{ search(text: "a") { ... on User { x: friends { id } } ... on Post { x: author { id } } } }\n', 'Fields "x" conflict because they return conflicting types "[User!]" and "User!".');

// UniqueInputFieldNames
valid('rule-unique-input-fields-ok', '{ echoInput(input: {titleContains: "a", nested: {depth: 1, inner: {titleContains: "b"}}}) }\n');
invalid('rule-unique-input-fields-twice', '{ echoInput(input: {titleContains: "a", titleContains: "b"}) }\n', 'There can be only one input field named "titleContains".');
invalid('rule-unique-input-fields-nested', '{ echoInput(input: {nested: {depth: 1, depth: 2}}) }\n', 'There can be only one input field named "depth".');

// MaxIntrospectionDepth (graphql-js 16.9+ runs it by default)
valid('rule-introspection-depth-ok', '{ __schema { types { fields { type { fields { name } } } } } }\n');
invalid('rule-introspection-depth-exceeded', '{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }\n', 'Maximum introspection depth exceeded');

// Many rules at once.
invalid('rules-several-at-once', 'query Q($unused: Int, $a: Int) { me { nope name(x: 1) ...Missing } echoInt(value: $a) echoInt(value: $undefinedVar) version { x } }\nfragment Lonely on Post { title }\n', 'Variable "$unused" is never used in operation "Q".');

// ---- lexical and syntax edge cases ----------------------------------------------

valid('lex-bom', '\uFEFF{ version }\n');
invalid('lex-bom-location', '\uFEFF{ nope }\n', 'Cannot query field "nope" on type "Query".');
valid('lex-bom-inside', '{ \uFEFFversion\uFEFF }\n');
valid('lex-commas', ',,{ ,,version,,, echoInt(value:1,,,) ,echoList(values: [1,,2,,]), }\n');
valid('lex-comments', '# leading comment\n{ # after brace\n  version # trailing\n  # own line\n}\n# final comment without newline');
valid('lex-whitespace-tabs', '{\tversion\t\techoInt\t}\n');
invalid('lex-crlf-location', '{\r\n  version\r\n  nope\r\n}\r\n', 'Cannot query field "nope" on type "Query".');
invalid('lex-cr-location', '{\r  version\r  nope\r}\r', 'Cannot query field "nope" on type "Query".');
invalid('lex-utf16-columns', '{ echoString(value: "😀😀é") nope }\n', 'Cannot query field "nope" on type "Query".');
invalid('lex-utf16-columns-syntax', '{ a: echoString(value: "𝔊𝔔𝔏") ? }\n', 'Syntax Error: Unexpected character: "?".');
invalid('lex-unexpected-character', '{ version ? }\n', 'Syntax Error: Unexpected character: "?".');
invalid('lex-unexpected-control', '{ version \u0007 }\n', 'Syntax Error: Unexpected character: U+0007.');
invalid('lex-unexpected-emoji', '{ version 😀 }\n', 'Syntax Error: Unexpected character: U+1F600.');
invalid('lex-unexpected-nbsp', '{ version\u00a0}\n', 'Syntax Error: Unexpected character: U+00A0.');
invalid('lex-single-quote', "{ echoString(value: 'x') }\n", 'Syntax Error: Unexpected single quote character (\'), did you mean to use a double quote (")?');
invalid('lex-unexpected-dot', '{ echoFloat(value: .5) }\n', 'Syntax Error: Unexpected character: ".".');
invalid('lex-two-dots', '{ me { ..F } }\n', 'Syntax Error: Unexpected character: ".".');
invalid('lex-null-byte', '{ version \u0000 }\n', 'Syntax Error: Unexpected character: U+0000.');

// strings
valid('string-escapes', '{ echoString(value: "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041 \\u00E9 \\u{1F600} \\uD83D\\uDE00 \\u{0000041}") }\n');
valid('string-unicode-raw', '{ echoString(value: "é 😀 中文 \u2028 \u2029 tab\there") }\n');
valid('string-empty', '{ echoString(value: "") a: echoString(value: """""") }\n');
invalid('string-unterminated', '{ echoString(value: "abc', 'Syntax Error: Unterminated string.');
invalid('string-unterminated-newline', '{ echoString(value: "abc\n") }\n', 'Syntax Error: Unterminated string.');
invalid('string-unterminated-cr', '{ echoString(value: "abc\r") }\n', 'Syntax Error: Unterminated string.');
invalid('string-invalid-escape', '{ echoString(value: "a\\x") }\n', 'Syntax Error: Invalid character escape sequence: "\\x".');
invalid('string-invalid-escape-uppercase-u', '{ echoString(value: "\\U0041") }\n', 'Syntax Error: Invalid character escape sequence: "\\U".');
invalid('string-short-unicode', '{ echoString(value: "\\u12") }\n', 'Syntax Error: Invalid Unicode escape sequence: "\\u12")".');
invalid('string-bad-hex-unicode', '{ echoString(value: "\\u12G4") }\n', 'Syntax Error: Invalid Unicode escape sequence: "\\u12G4".');
invalid('string-braced-too-large', '{ echoString(value: "\\u{110000}") }\n', 'Syntax Error: Invalid Unicode escape sequence: "\\u{110000}".');
invalid('string-braced-empty', '{ echoString(value: "\\u{}") }\n', 'Syntax Error: Invalid Unicode escape sequence: "\\u{}".');
invalid('string-braced-unclosed', '{ echoString(value: "\\u{1F600") }\n', 'Syntax Error: Invalid Unicode escape sequence: "\\u{1F600"".');
invalid('string-braced-surrogate', '{ echoString(value: "\\u{D800}") }\n', 'Syntax Error: Invalid Unicode escape sequence: "\\u{D800}".');
invalid('string-lone-high-surrogate', '{ echoString(value: "\\uD83D") }\n', 'Syntax Error: Invalid Unicode escape sequence: "\\uD83D".');
invalid('string-lone-low-surrogate', '{ echoString(value: "\\uDE00x") }\n', 'Syntax Error: Invalid Unicode escape sequence: "\\uDE00".');
invalid('string-high-then-non-low', '{ echoString(value: "\\uD83D\\u0041") }\n', 'Syntax Error: Invalid Unicode escape sequence: "\\uD83D".');
valid('string-control-characters-allowed', '{ echoString(value: "a\u0001b\u001fc\u007f") }\n');
invalid('string-control-characters-location', '{ echoString(value: "\u0001\u0002\u0003") nope }\n', 'Cannot query field "nope" on type "Query".');
invalid('string-escape-at-end', '{ echoString(value: "abc\\', 'Syntax Error: Invalid character escape sequence: "\\".');
invalid('string-printed-in-error', '{ echoInt(value: "é\\u00e9\\u{1F600}\\uD83D\\uDE00\\u0000\\u001F\\u007F\\u0080\\u2028\\"\\\\\\/\\b\\f\\n\\r\\t") }\n', 'Int cannot represent non-integer value:');

// block strings
valid('block-string-indentation', '{ echoString(value: """\n    first\n      indented\n    last\n  """) }\n');
invalid('block-string-printed', '{ echoInt(value: """\n    first\n      indented\n\n    last with \\""" and "quote"\n  """) }\n', 'Int cannot represent non-integer value: """');
invalid('block-string-printed-single-line', '{ echoInt(value: """  leading and trailing spaces  """) a: echoInt(value: """has \\""" inside""") }\n', 'Int cannot represent non-integer value:');
invalid('block-string-printed-crlf', '{ echoInt(value: """\r\n  one\r\n  two\r\n""") }\n', 'Int cannot represent non-integer value:');
invalid('block-string-unterminated', '{ echoString(value: """abc "" \\""" ) }\n', 'Syntax Error: Unterminated string.');
valid('block-string-control-characters-allowed', '{ echoString(value: """a\u0002b\u0000c""") }\n');
invalid('block-string-location-after', '{ echoString(value: """\n\n   three lines\n""") nope }\n', 'Cannot query field "nope" on type "Query".');

// numbers: each literal in an Int and a Float position; the name says which
const numberLiterals = [
  ['zero', '0'], ['negative-zero', '-0'], ['int', '123'], ['negative-int', '-123'],
  ['max-int', '2147483647'], ['min-int', '-2147483648'], ['float', '1.5'], ['float-zero', '0.0'],
  ['negative-float', '-0.5'], ['exponent', '1e3'], ['exponent-upper', '1E3'], ['exponent-plus', '1e+3'],
  ['exponent-minus', '1e-3'], ['float-exponent', '1.25e2'], ['negative-zero-float', '-0.0'],
  ['large-float', '1.7976931348623157e308'], ['tiny-float', '5e-324'],
];
for (const [name, literal] of numberLiterals) {
  const isInt = /^-?\d+$/.test(literal);
  add(`number-${name}`, `{ echoInt(value: ${literal}) echoFloat(value: ${literal}) }\n`,
    isInt ? 'valid' : 'Int cannot represent non-integer value');
}
const badNumbers = [
  ['leading-zero', '00', 'Syntax Error: Invalid number, unexpected digit after 0: "0".'],
  ['leading-zero-negative', '-01', 'Syntax Error: Invalid number, unexpected digit after 0: "1".'],
  ['trailing-dot', '1.', 'Syntax Error: Invalid number, expected digit but got: ")".'],
  ['dot-exponent', '1.e1', 'Syntax Error: Invalid number, expected digit but got: "e".'],
  ['bare-exponent', '1e', 'Syntax Error: Invalid number, expected digit but got: ")".'],
  ['exponent-sign-only', '1e+', 'Syntax Error: Invalid number, expected digit but got: ")".'],
  ['hex', '0x1', 'Syntax Error: Invalid number, expected digit but got: "x".'],
  ['name-after-digits', '123abc', 'Syntax Error: Invalid number, expected digit but got: "a".'],
  ['dot-after-float', '1.2.3', 'Syntax Error: Invalid number, expected digit but got: ".".'],
  ['minus-alone', '-', 'Syntax Error: Invalid number, expected digit but got: ")".'],
  ['minus-name', '-a', 'Syntax Error: Invalid number, expected digit but got: "a".'],
  ['underscore', '1_000', 'Syntax Error: Invalid number, expected digit but got: "_".'],
  ['exponent-dot', '1e1.5', 'Syntax Error: Invalid number, expected digit but got: ".".'],
  ['float-name', '1.5f', 'Syntax Error: Invalid number, expected digit but got: "f".'],
  ['leading-plus', '+1', 'Syntax Error: Unexpected character: "+".'],
  ['digit-at-eof', '1.', null],
];
for (const [name, literal, message] of badNumbers) {
  if (message === null) {
    invalid(`number-bad-${name}`, `{ echoFloat(value: ${literal}`, 'Syntax Error: Invalid number, expected digit but got: <EOF>.');
  } else {
    invalid(`number-bad-${name}`, `{ echoFloat(value: ${literal}) }\n`, message);
  }
}

// "Expected ..., found ..." and "Unexpected ..." in every form the parser has
const syntaxErrors = [
  ['empty-document', '', 'Syntax Error: Unexpected <EOF>.'],
  ['only-comments', '# nothing here\n   \n', 'Syntax Error: Unexpected <EOF>.'],
  ['open-brace-eof', '{', 'Syntax Error: Expected Name, found <EOF>.'],
  ['empty-selection', '{ }', 'Syntax Error: Expected Name, found "}".'],
  ['query-eof', 'query', 'Syntax Error: Expected "{", found <EOF>.'],
  ['query-name-eof', 'query Q', 'Syntax Error: Expected "{", found <EOF>.'],
  ['unknown-keyword', 'notanop { version }', 'Syntax Error: Unexpected Name "notanop".'],
  ['extra-closing-brace', '{ version } }', 'Syntax Error: Unexpected "}".'],
  ['argument-no-colon', '{ echoInt(value 1) }', 'Syntax Error: Expected ":", found Int "1".'],
  ['argument-no-value', '{ echoInt(value: ) }', 'Syntax Error: Unexpected ")".'],
  ['argument-empty-list', '{ echoInt() }', 'Syntax Error: Expected Name, found ")".'],
  ['argument-eof', '{ echoInt(', 'Syntax Error: Expected Name, found <EOF>.'],
  ['argument-string-name', '{ echoInt("value": 1) }', 'Syntax Error: Expected Name, found String "value".'],
  ['argument-block-string-name', '{ echoInt("""v""": 1) }', 'Syntax Error: Expected Name, found BlockString "v".'],
  ['argument-float-name', '{ echoInt(1.5: 1) }', 'Syntax Error: Expected Name, found Float "1.5".'],
  ['variable-definition-no-colon', 'query ($a Int) { version }', 'Syntax Error: Expected ":", found Name "Int".'],
  ['variable-definition-no-dollar', 'query (a: Int) { version }', 'Syntax Error: Expected "$", found Name "a".'],
  ['variable-definition-empty', 'query () { version }', 'Syntax Error: Expected "$", found ")".'],
  ['variable-type-unclosed-list', 'query ($a: [Int) { version }', 'Syntax Error: Expected "]", found ")".'],
  ['variable-type-double-bang', 'query ($a: Int!!) { version }', 'Syntax Error: Expected "$", found "!".'],
  ['variable-in-default', 'query ($a: Int = $b) { version }', 'Syntax Error: Unexpected variable "$b" in constant value.'],
  ['variable-in-default-nested', 'query ($a: PostFilter = {tags: [$b]}) { version }', 'Syntax Error: Unexpected variable "$b" in constant value.'],
  ['variable-in-directive-on-definition', 'query ($a: Int @onVariable(note: $a)) { version }', 'Syntax Error: Unexpected variable "$a" in constant value.'],
  ['dollar-alone', '{ echoInt(value: $) }', 'Syntax Error: Expected Name, found ")".'],
  ['dollar-space-is-a-variable', '{ echoInt(value: $ a) }', 'Variable "$a" is not defined.'],
  ['fragment-name-on', 'fragment on on User { id }', 'Syntax Error: Unexpected Name "on".'],
  ['fragment-missing-on', 'fragment F User { id }', 'Syntax Error: Expected "on", found Name "User".'],
  ['fragment-missing-type', 'fragment F on { id }', 'Syntax Error: Expected Name, found "{".'],
  ['fragment-variables', 'fragment F($a: Int) on User { id }', 'Syntax Error: Expected "on", found "(".'],
  ['spread-on-eof', '{ ... on', 'Syntax Error: Expected Name, found <EOF>.'],
  ['spread-eof', '{ me { ...', 'Syntax Error: Expected "{", found <EOF>.'],
  ['spread-top-level', '...F', 'Syntax Error: Unexpected "...".'],
  ['directive-no-name', 'query Q @ { version }', 'Syntax Error: Expected Name, found "{".'],
  ['directive-space-is-a-directive', '{ version @ skip(if: true) }', 'valid'],
  ['unclosed-list-value', '{ echoList(values: [1, 2) }', 'Syntax Error: Unexpected ")".'],
  ['unclosed-object-value', '{ echoInput(input: {tags: 1 ) }', 'Syntax Error: Expected Name, found ")".'],
  ['object-field-no-colon', '{ echoInput(input: {tags [1]}) }', 'Syntax Error: Expected ":", found "[".'],
  ['alias-no-field', '{ a: }', 'Syntax Error: Expected Name, found "}".'],
  ['alias-number', '{ 1: version }', 'Syntax Error: Expected Name, found Int "1".'],
  ['selection-string', '{ "version" }', 'Syntax Error: Expected Name, found String "version".'],
  ['selection-bracket', '{ [version] }', 'Syntax Error: Expected Name, found "[".'],
  ['operation-brace-after-paren', 'query Q( { version }', 'Syntax Error: Expected "$", found "{".'],
  ['pipe', '{ version | echoInt }', 'Syntax Error: Expected Name, found "|".'],
  ['ampersand', '{ version & }', 'Syntax Error: Expected Name, found "&".'],
  ['equals', '{ version = 1 }', 'Syntax Error: Expected Name, found "=".'],
  ['eof-in-nested', '{ me { bestFriend { name ', 'Syntax Error: Expected Name, found <EOF>.'],
  ['subscription-in-shorthand', '{ subscription }', 'Cannot query field "subscription" on type "Query".'],
  ['value-keyword-true-enum', '{ echoColor(value: true) }', 'Enum "Color" cannot represent non-enum value: true.'],
  ['second-error-ignored', '{ echoInt(value: ) ? }', 'Syntax Error: Unexpected ")".'],
  ['error-on-line-three', '{\n  version\n  echoInt(value: 1 2)\n}', 'Syntax Error: Expected Name, found Int "2".'],
];
for (const [name, source, message] of syntaxErrors) {
  if (message === 'valid') valid(`syntax-${name}`, `${source}\n`);
  else invalid(`syntax-${name}`, source, message);
}

// keywords are ordinary names outside their keyword position
invalid('names-keywords-as-fields', '{ query mutation fragment on true false null subscription }\n', 'Cannot query field "query" on type "Query".');
valid('names-keywords-as-aliases', '{ query: version fragment: echoInt on: echoString true: echoBoolean null: echoId subscription: version version2: echoColor }\n');
valid('names-keywords-as-operation-names', 'query query { version }\n', { operationName: 'query' });
valid('names-fragment-named-query', '{ ...query }\nfragment query on Query { version }\n');
valid('names-underscores-digits', '{ _a1: version __b2_: echoInt A_: echoString }\n');

// nesting
const deep = (n, inner) => (n === 0 ? inner : `bestFriend { ${deep(n - 1, inner)} }`);
valid('nesting-selections-20', `{ me { ${deep(20, 'id name')} } }\n`);
valid('nesting-lists-in-value-30', `{ echoJson(value: ${'['.repeat(30)}1${']'.repeat(30)}) }\n`);
invalid('nesting-lists-in-int-position', `{ echoMatrix(values: ${'['.repeat(12)}1${']'.repeat(12)}) }\n`, 'Int cannot represent non-integer value: [[[[[[[[[[1]]]]]]]]]]');
valid('nesting-objects-in-value', `{ echoInput(input: ${'{nested: {depth: 1, inner: '.repeat(8)}{titleContains: "x"}${'}}'.repeat(8)}) }\n`);
valid('nesting-inline-fragments', `{ me { ${'... on User { '.repeat(15)}id${' }'.repeat(15)} } }\n`);
valid('nesting-fragment-chain', `{ me { ...F0 } }\n${Array.from({ length: 12 }, (_, i) => `fragment F${i} on User { id ${i < 11 ? `bestFriend { ...F${i + 1} }` : ''} }`).join('\n')}\n`);

// ---- operation selection -------------------------------------------------------

valid('operation-select-second', 'query A { a: version }\nquery B { b: version }\n', { operationName: 'B' });
valid('operation-select-mutation', 'query A { version }\nmutation M { setColor(color: RED) }\n', { operationName: 'M' });
invalid('operation-ambiguous', 'query A { version }\nquery B { version }\n', 'Must provide operation name if query contains multiple operations.');
invalid('operation-unknown-name', 'query A { version }\nquery B { version }\n', 'Unknown operation named "C".', { operationName: 'C' });
invalid('operation-name-for-anonymous', '{ version }\n', 'Unknown operation named "Q".', { operationName: 'Q' });
valid('operation-single-named-without-name', 'query OnlyOne { version }\n');
invalid('operation-only-fragments', 'fragment F on Query { version }\n', 'Fragment "F" is never used.');
add('operation-subscription', 'subscription S { version }\n', 'valid', { stage: 'Schema is not configured to execute subscription operation.' });

// ---- variable coercion ---------------------------------------------------------

const coercion = [
  ['default-used', 'query ($a: Int = 5) { echoInt(value: $a) }', {}, 'valid'],
  ['null-overrides-default', 'query ($a: Int = 5) { echoInt(value: $a) }', { a: null }, 'valid'],
  ['non-null-missing', 'query ($a: Int!) { echoInt(value: $a) }', {}, 'Variable "$a" of required type "Int!" was not provided.'],
  ['non-null-null', 'query ($a: Int!) { echoInt(value: $a) }', { a: null }, 'Variable "$a" of non-null type "Int!" must not be null.'],
  ['non-null-with-default-missing', 'query ($a: Int! = 3) { echoInt(value: $a) }', {}, 'valid'],
  ['list-promotion', 'query ($l: [Int]) { echoList(values: $l) }', { l: 5 }, 'valid'],
  ['list-promotion-nested', 'query ($m: [[Int!]]) { echoMatrix(values: $m) }', { m: 5 }, 'valid'],
  ['list-null-item-non-null', 'query ($l: [Int!]) { echoColor echoList(values: $l) }', { l: [1, null, 3] }, 'Variable "$l" got invalid value null at "l[1]"; Expected non-nullable type "Int!" not to be null.'],
  ['list-bad-items', 'query ($l: [Int]) { echoList(values: $l) }', { l: [1, 'x', 2.5] }, 'Variable "$l" got invalid value "x" at "l[1]"; Int cannot represent non-integer value: "x"'],
  ['int-too-large', 'query ($a: Int) { echoInt(value: $a) }', { a: 2147483648 }, 'Variable "$a" got invalid value 2147483648; Int cannot represent non 32-bit signed integer value: 2147483648'],
  ['int-too-small', 'query ($a: Int) { echoInt(value: $a) }', { a: -2147483649 }, 'Int cannot represent non 32-bit signed integer value: -2147483649'],
  ['int-bounds', 'query ($a: Int, $b: Int) { a: echoInt(value: $a) b: echoInt(value: $b) }', { a: 2147483647, b: -2147483648 }, 'valid'],
  ['int-non-integer', 'query ($a: Int) { echoInt(value: $a) }', { a: 1.5 }, 'Variable "$a" got invalid value 1.5; Int cannot represent non-integer value: 1.5'],
  ['int-integral-float', 'query ($a: Int) { echoInt(value: $a) }', { a: 3.0 }, 'valid'],
  ['int-from-string', 'query ($a: Int) { echoInt(value: $a) }', { a: '1' }, 'Int cannot represent non-integer value: "1"'],
  ['int-from-boolean', 'query ($a: Int) { echoInt(value: $a) }', { a: true }, 'Int cannot represent non-integer value: true'],
  ['float-from-int', 'query ($f: Float) { echoFloat(value: $f) }', { f: 7 }, 'valid'],
  ['float-from-string', 'query ($f: Float) { echoFloat(value: $f) }', { f: '1.5' }, 'Float cannot represent non numeric value: "1.5"'],
  ['float-exponent', 'query ($f: Float!) { echoFloat(value: $f) }', { f: 1e300 }, 'valid'],
  ['id-from-int', 'query ($i: ID) { echoId(value: $i) }', { i: 123 }, 'valid'],
  ['id-from-float', 'query ($i: ID) { echoId(value: $i) }', { i: 1.5 }, 'ID cannot represent value: 1.5'],
  ['id-from-boolean', 'query ($i: ID) { echoId(value: $i) }', { i: false }, 'ID cannot represent value: false'],
  ['string-from-int', 'query ($s: String) { echoString(value: $s) }', { s: 1 }, 'String cannot represent a non string value: 1'],
  ['string-from-object', 'query ($s: String) { echoString(value: $s) }', { s: { a: [1, 'b'] } }, 'String cannot represent a non string value: { a: [1, "b"] }'],
  ['boolean-from-string', 'query ($b: Boolean) { echoBoolean(value: $b) }', { b: 'true' }, 'Boolean cannot represent a non boolean value: "true"'],
  ['boolean-from-int', 'query ($b: Boolean!) { version @skip(if: $b) }', { b: 0 }, 'Boolean cannot represent a non boolean value: 0'],
  ['enum-ok', 'query ($c: Color) { echoColor(value: $c) }', { c: 'BLUE' }, 'valid'],
  ['enum-unknown', 'query ($c: Color) { echoColor(value: $c) }', { c: 'PURPLE' }, 'Value "PURPLE" does not exist in "Color" enum.'],
  ['enum-suggestion', 'query ($c: Color) { echoColor(value: $c) }', { c: 'GREN' }, 'Value "GREN" does not exist in "Color" enum. Did you mean the enum value "GREEN" or "RED"?'],
  ['enum-lowercase', 'query ($c: Color) { echoColor(value: $c) }', { c: 'red' }, 'Value "red" does not exist in "Color" enum.'],
  ['enum-from-int', 'query ($c: Color) { echoColor(value: $c) }', { c: 1 }, 'Enum "Color" cannot represent non-string value: 1.'],
  ['enum-list', 'query ($c: [Color!]) { echoColor(values: $c) }', { c: ['RED', 'NAVY'] }, 'valid'],
  ['input-object-ok', 'query ($f: PostFilter) { echoInput(input: $f) }', { f: { titleContains: 'x', tags: 'single', nested: { depth: 1, matrix: 2 }, and: [{ color: 'RED' }] } }, 'valid'],
  ['input-object-unknown-field', 'query ($f: PostFilter) { echoInput(input: $f) }', { f: { nope: 1 } }, 'Variable "$f" got invalid value { nope: 1 }; Field "nope" is not defined by type "PostFilter".'],
  ['input-object-unknown-field-suggestion', 'query ($f: PostFilter) { echoInput(input: $f) }', { f: { titleContain: 'x' } }, 'Field "titleContain" is not defined by type "PostFilter". Did you mean "titleContains"?'],
  ['input-object-missing-required', 'query ($n: NestedFilter!) { echoNested(input: $n) }', { n: { flag: true } }, 'Variable "$n" got invalid value { flag: true }; Field "depth" of required type "Int!" was not provided.'],
  ['input-object-nested-error-path', 'query ($f: PostFilter) { echoInput(input: $f) }', { f: { nested: { depth: 'deep' }, and: [{}, { minScore: 'x' }] } }, 'Variable "$f" got invalid value "deep" at "f.nested.depth"; Int cannot represent non-integer value: "deep"'],
  ['input-object-not-object', 'query ($f: PostFilter) { echoInput(input: $f) }', { f: [1, 2] }, 'Variable "$f" got invalid value [1, 2]; Expected type "PostFilter" to be an object.'],
  ['input-object-null-field-non-null', 'query ($n: NestedFilter!) { echoNested(input: $n) }', { n: { depth: null } }, 'Expected non-nullable type "Int!" not to be null.'],
  ['custom-scalar-anything', 'query ($j: JSON, $d: DateTime) { echoJson(value: $j) echoDate(value: $d) }', { j: { deep: [1, { x: null }] }, d: 12 }, 'valid'],
  ['several-errors', 'query ($a: Int!, $b: Color, $c: Float) { echoInt(value: $a) echoColor(value: $b) echoFloat(value: $c) }', { b: 'X', c: 'y' }, 'Variable "$a" of required type "Int!" was not provided.'],
  ['unknown-variables-ignored', 'query ($a: Int) { echoInt(value: $a) }', { a: 1, zzz: 'ignored' }, 'valid'],
  ['input-type-variable-of-list-of-input', 'query ($o: [PostOrder!]) { posts(orderBy: $o) { id } }', { o: { field: 'TITLE' } }, 'valid'],
];
for (const [name, source, variables, expect] of coercion) add(`variables-${name}`, `${source}\n`, expect, { variables });

// ---- execution: @skip/@include, field collection, __typename, nulls ------------

valid('skip-include-literals', '{ a: version @skip(if: true) b: version @skip(if: false) c: version @include(if: true) d: version @include(if: false) e: version @skip(if: false) @include(if: false) f: version @skip(if: true) @include(if: true) g: version @skip(if: false) @include(if: true) }\n');
valid('skip-include-variables', 'query ($yes: Boolean!, $no: Boolean! = false) { a: version @skip(if: $yes) b: version @include(if: $yes) c: version @skip(if: $no) me @include(if: $no) { id } }\n', { variables: { yes: true } });
valid('skip-include-fragments', 'query ($yes: Boolean!) { ...F @skip(if: $yes) ... @include(if: $yes) { b: version } ... on Query @skip(if: true) { c: version } }\nfragment F on Query { a: version }\n', { variables: { yes: true } });
valid('skip-everything', '{ me { name @skip(if: true) } version @include(if: false) }\n');
valid('skip-all-root-fields', '{ version @skip(if: true) }\n');
valid('skip-same-field-twice', '{ version @skip(if: true) version }\n');
valid('merge-fragment-order', '{ me { name ...F age id } }\nfragment F on User { id email name favoriteColor }\n');
valid('merge-inline-then-field', '{ me { ... on User { age name } name ... { email age } } }\n');
valid('merge-subselections', '{ me { bestFriend { name } ...F bestFriend { id email } } }\nfragment F on User { bestFriend { id bestFriend { name } } }\n');
valid('merge-aliases-order', '{ z: version a: version m: echoInt z: version }\n');
valid('merge-abstract-order', '{ search(text: "x") { ... on User { name } __typename ... on Post { title } ... on Node { id } ... on Comment { body id } } }\n');
valid('typename-everywhere', 'query Q { __typename t: __typename me { __typename bestFriend { __typename } } content { __typename } named { __typename ... on Tag { __typename count } } search(text: "") { __typename } }\n');
valid('typename-mutation-root', 'mutation { __typename setColor(color: GREEN) }\n');
valid('typename-with-skip', '{ __typename @skip(if: true) x: __typename @include(if: true) }\n');
valid('execute-interface-fields', '{ node(id: "u1") { id ... on Named { name } ... on Entity { createdAt } } entity { id name createdAt __typename } }\n');
valid('execute-union-members', '{ content { ... on Post { id title author { name } } ... on Comment { id body score } } }\n');
valid('execute-lists', '{ users { id name favoriteColor age } posts { id tags comments { id body author { name } } } numbers nonNullList echoList echoMatrix }\n');
valid('execute-scalars', '{ echoInt echoFloat echoString echoBoolean echoId echoColor echoJson echoDate version oldField deprecatedArg(new: 1) }\n');
valid('execute-deprecated-still-queryable', '{ oldField me { email } deprecatedArg(old: 1) echoColor(value: BLUE) echoInput(input: {legacy: "x"}) }\n');

const nulls = [
  ['non-null-root-field', '{ me { name } version }', { me: null, version: 'v' }],
  ['non-null-root-scalar', '{ version nonNullScalar }', { version: 'v' }],
  ['non-null-nested', '{ posts { id title } version }', { posts: [{ id: 'p1', title: 'T' }, { id: 'p2', title: null }], version: 'v' }],
  ['non-null-list-item', '{ nonNullList }', { nonNullList: [1, null, 3] }],
  ['nullable-list-of-non-null', '{ me { id friends { id name } } }', { me: { id: 'u1', friends: [{ id: 'u2', name: 'B' }, null] } }],
  ['nullable-parent-absorbs', '{ viewer { id bestFriend { id } } user(id: 1) { bestFriend { id name } } }', { viewer: { id: null }, user: { bestFriend: { id: null, name: 'x' } } }],
  ['non-null-deep-chain', '{ posts { author { id name } } }', { posts: [{ author: { id: 'u1' } }, { author: null }] }],
  ['null-in-nullable-list', '{ users { id } content { __typename } }', { users: [null, { id: 'u' }], content: [null] }],
  ['several-errors', '{ a: me { id } b: nonNullScalar c: echoInt }', { a: 1 }],
  ['sibling-errors-kept', '{ user(id: 1) { id name } viewer { id } echoInt }', { user: { id: null, name: 'n' }, viewer: { id: null }, echoInt: 'x' }],
];
for (const [name, source, root] of nulls) valid(`nulls-${name}`, `${source}\n`, { root });

const serialization = [
  ['int-from-string', '{ echoInt }', { echoInt: '5' }],
  ['int-bad-string', '{ echoInt }', { echoInt: 'abc' }],
  ['int-out-of-range', '{ echoInt }', { echoInt: 3000000000 }],
  ['int-fraction', '{ echoInt }', { echoInt: 1.5 }],
  ['int-from-boolean', '{ echoInt }', { echoInt: true }],
  ['float-from-string', '{ echoFloat a: echoFloat }', { echoFloat: '2.5' }],
  ['float-bad', '{ echoFloat }', { echoFloat: 'x' }],
  ['float-values', '{ users { score: age } posts { score } }', { users: [{ age: 0 }], posts: [{ score: 0.1 }, { score: -0 }, { score: 1e21 }, { score: 123456789.125 }, { score: 5e-324 }] }],
  ['string-from-number', '{ echoString a: echoId }', { echoString: 5, echoId: 7 }],
  ['string-from-boolean', '{ echoString }', { echoString: true }],
  ['string-from-object', '{ echoString }', { echoString: { a: 1 } }],
  ['id-from-boolean', '{ echoId }', { echoId: true }],
  ['boolean-from-int', '{ echoBoolean }', { echoBoolean: 1 }],
  ['enum-unknown-value', '{ echoColor }', { echoColor: 'PURPLE' }],
  ['enum-not-string', '{ echoColor }', { echoColor: 3 }],
  ['list-not-iterable', '{ numbers }', { numbers: 5 }],
  // No U+0000 here: root values come from PostgreSQL jsonb, which cannot hold it (NUL bytes
  // inside document strings are covered by string-printed-in-error).
  ['string-escapes-out', '{ echoString }', { echoString: 'quote " backslash \\ ctl \u0001 \u001f del \u007f é 😀 \u2028' }],
  ['json-scalar-any', '{ echoJson me { metadata } }', { echoJson: [1, 'a', null, { b: [true, 2.5] }], me: { metadata: 'text' } }],
  ['abstract-missing-typename', '{ node(id: 1) { id } }', { node: { id: 'x' } }],
  ['abstract-impossible-type', '{ node(id: 1) { id } content { __typename } }', { node: { __typename: 'Tag', id: 'x' }, content: [{ __typename: 'User' }] }],
];
for (const [name, source, root] of serialization) valid(`serialize-${name}`, `${source}\n`, { root });

// ---- introspection through execute ----------------------------------------------

valid('introspection-typename-schema', '{ __schema { queryType { name } mutationType { name } subscriptionType { name } description } }\n');
valid('introspection-type-object', '{ __type(name: "User") { kind name description interfaces { name } fields { name isDeprecated deprecationReason args { name defaultValue type { kind name ofType { kind name } } } } } }\n');
valid('introspection-type-deprecated', '{ __type(name: "User") { fields(includeDeprecated: false) { name } all: fields(includeDeprecated: true) { name isDeprecated deprecationReason } } }\n');
valid('introspection-enum', '{ __type(name: "Color") { kind description enumValues { name } all: enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } } }\n');
valid('introspection-input', '{ __type(name: "PostFilter") { kind inputFields { name defaultValue } all: inputFields(includeDeprecated: true) { name isDeprecated deprecationReason type { name kind ofType { name kind ofType { name kind } } } } } }\n');
valid('introspection-args-deprecated', '{ __type(name: "Query") { fields { name args { name } allArgs: args(includeDeprecated: true) { name isDeprecated deprecationReason defaultValue } } } }\n');
valid('introspection-default-values', '{ __type(name: "Query") { fields { name args { name defaultValue } } } q: __type(name: "NewPost") { inputFields { name defaultValue } } }\n');
valid('introspection-scalar', '{ __type(name: "DateTime") { kind name description specifiedByURL } i: __type(name: "Int") { name description specifiedByURL } }\n');
valid('introspection-directives', '{ __schema { directives { name description isRepeatable locations args { name description defaultValue type { name kind ofType { name } } } } } }\n');
valid('introspection-possible-types', '{ a: __type(name: "Node") { possibleTypes { name } interfaces { name } } b: __type(name: "Entity") { possibleTypes { name } interfaces { name } } c: __type(name: "SearchResult") { possibleTypes { name } } }\n');
valid('introspection-unknown-type', '{ __type(name: "Nope") { name } }\n');
valid('introspection-all-type-names', '{ __schema { types { name kind } } }\n');
valid('introspection-meta-types', '{ __type(name: "__Type") { fields { name args { name defaultValue } } } d: __type(name: "__DirectiveLocation") { enumValues { name } } }\n');
invalid('introspection-type-without-name', '{ __type { name } }\n', 'Field "__type" argument "name" of type "String!" is required, but it was not provided.');
invalid('introspection-schema-on-non-root', '{ me { __schema { description } } }\n', 'Cannot query field "__schema" on type "User".');
valid('introspection-with-data', '{ version __schema { queryType { name fields { name } } } me { name } }\n');

// ---- more corners ----------------------------------------------------------------

invalid('validation-error-limit', `{ ${Array.from({ length: 120 }, (_, i) => `f${i}`).join(' ')} }\n`, 'Too many validation errors, error limit reached. Validation aborted.');
invalid('suggest-inline-fragment-order', '{ named { title id createdAt } entity { email title } }\n', 'Cannot query field "title" on type "Named". Did you mean to use an inline fragment on');
invalid('suggest-many-fields', '{ me { nme ag emal avatr frends } }\n', 'Cannot query field "nme" on type "User". Did you mean "name" or "age"?');
invalid('suggest-directive-argument', '{ version @trace(lvl: 1, labl: "x") }\n', 'Unknown argument "lvl" on directive "@trace". Did you mean "level"?');
invalid('scalar-leafs-introspection', '{ __type(name: "User") __schema }\n', 'Field "__type" of type "__Type" must have a selection of subfields. Did you mean "__type { ... }"?');
invalid('lex-non-ascii-name', '{ vérsion }\n', 'Syntax Error: Unexpected character: U+00E9.');
invalid('fragment-cycles-two', '{ me { ...A } }\nfragment A on User { ...B ...C }\nfragment B on User { ...A }\nfragment C on User { ...A }\n', 'Cannot spread fragment "A" within itself via "B".');
invalid('overlapping-via-fragments-in-interface', '{ node(id: 1) { ...A ... on User { ...B } } }\nfragment A on Node { id }\nfragment B on User { id: name }\n', 'Fields "id" conflict because "id" and "name" are different fields.');
invalid('overlapping-typename-alias', '{ me { __typename __typename: name } }\n', 'Fields "__typename" conflict because "__typename" and "name" are different fields.');
valid('overlapping-same-alias-disjoint-objects', '{ search(text: "x") { ... on User { v: name } ... on Comment { v: body } ... on Post { v: title } } }\n'.replace('v: title', 'w: title'));
valid('introspection-typename-inside', '{ __schema { __typename queryType { __typename name } } s: __type(name: "Color") { __typename kind } }\n');
valid('introspection-type-variable', 'query ($n: String!) { __type(name: $n) { name kind fields { name } } }\n', { variables: { n: 'Tag' } });
valid('introspection-meta-schema-types', '{ a: __type(name: "__Schema") { fields { name } } b: __type(name: "__Directive") { fields { name args { name defaultValue } } } c: __type(name: "__InputValue") { fields { name } } }\n');
valid('variables-unused-operation-not-coerced', 'query A($a: Int!) { echoInt(value: $a) }\nquery B { version }\n', { operationName: 'B' });
valid('variables-used-in-spread-directive', 'query ($s: Boolean!) { ...F @include(if: $s) }\nfragment F on Query { version }\n', { variables: { s: false } });
valid('arguments-null-for-non-null-with-default', 'query ($v: Int) { requiredWithDefault(a: $v) b: requiredWithDefault }\n', {
  variables: { v: null },
  knownDifference: 'engine locates "Argument ... must not be null." at the field, graphql-js at the argument value',
});
valid('arguments-missing-variable-uses-default', 'query ($v: Int, $f: Float) { requiredWithDefault(a: $v) echoInput(input: {minScore: $f}) }\n');
invalid('variables-int-into-float-position', 'query ($v: Int) { echoInput(input: {minScore: $v}) }\n', 'Variable "$v" of type "Int" used in position expecting type "Float".');
valid('mutation-input-defaults', 'mutation ($p: NewPost! = {title: "t", authorId: 1}) { createPost(input: $p) { id tags } }\n');
invalid('mutation-input-bad-variables', 'mutation ($p: NewPost!) { createPost(input: $p) { id } }\n', 'Field "title" of required type "String!" was not provided.', { variables: { p: { authorId: 1, tags: [null] } } });
valid('response-key-order-with-typename-first', '{ me { __typename id ... on User { __typename name } } }\n');
valid('aliased-introspection-roots', '{ s: __schema { queryType { name } } t: __type(name: "Query") { name } x: __typename }\n');

// Found by running the fuzzer's corpus through the differential runner (--documents).
const nulMessage = 'engine error messages stop at a U+0000 inside a string value';
invalid('found-unknown-directive-on-schema-extension', 'query Q { version }\nextend schema @unknownDirective(name: "x")\n', 'Unknown directive "@unknownDirective".', {
  knownDifference: 'engine does not run KnownDirectives on non-executable definitions',
});
invalid('found-nul-in-syntax-error-token', '{ echoInt(value: 1) "a\\u0000b" }\n', 'Syntax Error: Expected Name, found String "a', { knownDifference: nulMessage });
invalid('found-nul-in-printed-block-string', '{ echoInt(value: """a\u0000b""") }\n', 'Int cannot represent non-integer value: """a', { knownDifference: nulMessage });
invalid('found-nul-escape-in-printed-string', '{ echoInt(value: "a\\u0000b") }\n', 'Int cannot represent non-integer value: "a');

// ---- write and check -----------------------------------------------------------

async function verify(testCase) {
  const options = { operationName: testCase.operationName, variables: testCase.variables, root: testCase.root ?? sharedRoot };
  const validation = await referenceValidate(sdl, testCase.source, options);
  const messages = validation.errors.map((e) => e.message);
  if (testCase.expect === 'valid') {
    if (messages.length > 0) return `expected valid, graphql-js says: ${messages.join(' | ')}`;
  } else if (!messages.some((m) => m.includes(testCase.expect))) {
    return `expected an error containing ${JSON.stringify(testCase.expect)}, graphql-js says: ${messages.join(' | ') || 'valid'}`;
  }
  if (testCase.stage) {
    const result = await referenceExecute(sdl, testCase.source, options);
    if (!(result.errors ?? []).some((e) => e.message.includes(testCase.stage))) {
      return `expected an execution error containing ${JSON.stringify(testCase.stage)}, got ${JSON.stringify(result)}`;
    }
  }
  return null;
}

function filesFor(testCase) {
  const files = { [`${testCase.name}.graphql`]: testCase.source };
  const options = {};
  for (const key of ['operationName', 'variables', 'root', 'knownDifference']) if (testCase[key] !== undefined) options[key] = testCase[key];
  if (Object.keys(options).length > 0) files[`${testCase.name}.json`] = `${JSON.stringify(options, null, 2)}\n`;
  return files;
}

async function main() {
  const check = process.argv.includes('--check');
  const problems = [];
  for (const testCase of cases) {
    const problem = await verify(testCase);
    if (problem) problems.push(`${testCase.name}: ${problem}`);
  }
  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\n${problems.length} case(s) do not do what they say\n`);
    return 1;
  }
  const wanted = new Map();
  for (const testCase of cases) for (const [file, text] of Object.entries(filesFor(testCase))) wanted.set(file, text);
  const present = existsSync(corpusDir) ? readdirSync(corpusDir).filter((f) => /\.(graphql|json)$/.test(f)) : [];
  if (check) {
    const stale = present.filter((f) => wanted.get(f) !== readFileSync(join(corpusDir, f), 'utf8'));
    const missing = [...wanted.keys()].filter((f) => !present.includes(f));
    if (stale.length + missing.length > 0) {
      process.stderr.write(`corpus/ is out of date (run node gen-corpus.mjs): ${[...stale, ...missing].join(' ')}\n`);
      return 1;
    }
    process.stdout.write(`${cases.length} cases, corpus up to date\n`);
    return 0;
  }
  mkdirSync(corpusDir, { recursive: true });
  for (const file of present) if (!wanted.has(file)) rmSync(join(corpusDir, file));
  for (const [file, text] of wanted) writeFileSync(join(corpusDir, file), text);
  process.stdout.write(`${cases.length} cases written to ${corpusDir}\n`);
  return 0;
}

process.exitCode = await main();
