// The NestJS reference peer of the roost interop suite: the handlers and client scenarios of
// tests/interop/SCENARIOS.md, written against the public @nestjs/microservices API
// (NestFactory.createMicroservice + a @Controller with @MessagePattern/@EventPattern handlers on the
// server side, ClientProxyFactory/ClientTCP + rxjs on the client side).
//
//   node peer.mjs serve --url tcp://HOST:PORT                 -> prints "READY <port>", exits 0 on SIGTERM
//   node peer.mjs call  --url tcp://HOST:PORT --scenario NAME[,NAME...] [--server-impl IMPL]
//                         -> prints "PASS NAME" or "FAIL NAME: ..." per scenario; exit 1 if any failed
//
// This file never imports Nest, rxjs or reflect-metadata statically: run directly (tests/interop/nest)
// it loads them from tests/interop/nest/node_modules (NestJS 12), while tests/interop/nest11/peer.mjs
// loads them from its own node_modules (NestJS 11) and calls main() below with them. Plain JS has no
// decorator syntax, so the decorators are applied with Reflect.decorate, exactly as TypeScript's
// compiled output does.
//
// stdout carries only READY / PASS / FAIL / WAIT lines; every Nest log goes to stderr.
// Environment: ROOST_NEST_LOG=1 also shows Nest's info/debug logs (on stderr);
// ROOST_SCENARIO_TIMEOUT_MS caps one scenario (default 60000).

import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { transportFor } from './transports.mjs';
import { AUDIENCE, SUBJECT, jwtGuard, jwtKey, jwtRoute, signToken } from './jwt.mjs';
import { isDeepStrictEqual } from 'node:util';

// `serve` exits 0 on SIGTERM/SIGINT, even while Nest is still loading: the listeners go on at once
// and stay (a signal that arrives while the imports run is only dispatched after them, so swapping
// listeners would lose it); serve() points onSignal at a shutdown that closes the app first.
let onSignal = () => process.exit(0);
if (process.argv[2] === 'serve') {
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

// ---------------------------------------------------------------------------------------------
// Library loading

// Both the ESM namespace of Nest 12 and the CommonJS exports of Nest 11 end up as plain objects.
function flat(mod) {
  return { ...(mod.default && typeof mod.default === 'object' ? mod.default : {}), ...mod };
}

// `nats`: the NATS client library this NestJS loads (for its `headers()`), when available.
// `impl`: the name the `ctx` handler reports and run-suite.sh passes as --server-impl.
// `jwt`: jsonwebtoken, for the `jwt` scenario's guard and tokens.
export function libsFrom(common, core, microservices, rxjs, nats, impl, jwt) {
  return {
    impl,
    common: flat(common),
    core: flat(core),
    ms: flat(microservices),
    rx: flat(rxjs),
    nats: nats ? flat(nats) : null,
    jwt: flat(jwt),
  };
}

// ---------------------------------------------------------------------------------------------
// Logging: everything to stderr, never stdout.

function stderrLogger() {
  const verbose = !!process.env.ROOST_NEST_LOG;
  const out = (level) => (message, ...rest) => {
    const text = [message, ...rest]
      .map((m) => (m instanceof Error ? m.stack : typeof m === 'string' ? m : safeJson(m)))
      .join(' ');
    process.stderr.write(`[nest ${level}] ${text}\n`);
  };
  const quiet = () => {};
  return {
    log: verbose ? out('log') : quiet,
    debug: verbose ? out('debug') : quiet,
    verbose: verbose ? out('verbose') : quiet,
    warn: out('warn'),
    error: out('error'),
    fatal: out('fatal'),
  };
}

function safeJson(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

// ---------------------------------------------------------------------------------------------
// Server

// Patterns whose routes depend on key sorting (localeCompare) at every level.
const NON_ASCII_PATTERN = { 日本: 4, z: 2, é: 1, e: 3, Ω: 5 };
const NESTED_PATTERN = { cmd: 'nested', opts: { z: [1, { b: 2, a: 'x' }], a: true, m: { y: 1, x: 2 } } };

// The handlers of the scenarios that need a server configuration of their own (SCENARIOS.md,
// "Second server configurations"), added only under it so that the main suite is unchanged:
// with `wildcards=true` the globs `orders.*` and `audit.*`; with `queue=Q` (NATS), `Q.work` and
// `Q.tally` in the group and `Q.stats.<name>`, `name` telling the group's servers apart.
function configHandlers({ ms, impl }, query) {
  const { MessagePattern, EventPattern, Payload, Ctx } = ms;
  const param = (index, decorator) => (target, key) => decorator(target, key, index);
  const methods = {};
  const handlers = [];
  if (query?.get('wildcards') === 'true') {
    // RedisContext.getChannel(): the channel the message came on, not the glob; RabbitMQ's
    // routing key (the client publishes to the exchange with the pattern as the key).
    const channelOf = (context) =>
      context.getChannel ? context.getChannel() : context.getMessage().fields.routingKey;
    methods.orders = (data, context) => ({ impl, channel: channelOf(context), data });
    // A method of the controller: `this` is the instance, whose log `records` returns.
    methods.audit = function (data, context) {
      this.recordLog.push(`${channelOf(context)}:${JSON.stringify(data)}`);
    };
    handlers.push(['orders', MessagePattern('orders.*'), param(0, Payload()), param(1, Ctx())]);
    handlers.push(['audit', EventPattern('audit.*'), param(0, Payload()), param(1, Ctx())]);
  }
  const queue = query?.get('queue');
  if (queue) {
    const name = query.get('name') || impl;
    const counts = { served: 0, events: 0 };
    methods.work = () => {
      counts.served++;
      return { impl, name };
    };
    methods.tally = () => {
      counts.events++;
    };
    methods.stats = () => ({ ...counts });
    handlers.push(['work', MessagePattern(`${queue}.work`)]);
    handlers.push(['tally', EventPattern(`${queue}.tally`)]);
    handlers.push(['stats', MessagePattern(`${queue}.stats.${name}`)]);
  }
  return { methods, handlers };
}

// The `jwt` scenario's route when the harness made its keys (ROOST_INTEROP_JWT_KEYS and _ROUTE):
// `jwt.whoami.<run>`, behind a guard that verifies the message's bearer token against the
// issuer's public key; the handler answers the token's `sub`, which only the guard could have
// handed it.
function jwtHandlers({ common, ms, jwt, impl }) {
  const publicKey = jwtKey('issuer.pub');
  if (!publicKey || !jwtRoute()) return { methods: {}, handlers: [] };
  const { UseGuards } = common;
  const { MessagePattern, Payload, Ctx } = ms;
  const param = (index, decorator) => (target, key) => decorator(target, key, index);
  const claimsOf = new WeakMap();
  return {
    methods: { jwtWhoami: (data, context) => ({ sub: claimsOf.get(context).sub, impl }) },
    handlers: [
      [
        'jwtWhoami',
        MessagePattern(jwtRoute()),
        UseGuards(jwtGuard(jwt, publicKey, claimsOf)),
        param(0, Payload()),
        param(1, Ctx()),
      ],
    ],
  };
}

// The gRPC scenarios' handlers (SCENARIOS.md, "gRPC"): the methods of grpc/roost_test.proto's
// interop.Math, by @GrpcMethod (Mirror and Unhandled have none: UNIMPLEMENTED).
function grpcHandlers({ ms, rx }) {
  const { GrpcMethod, GrpcStreamMethod, RpcException } = ms;
  const { range, concat, throwError, map, reduce } = rx;
  const methods = {
    grpcSum: (data) => ({ total: (data.numbers ?? []).reduce((a, b) => a + b, 0) }),
    grpcRange: (data) => {
      const count = data.count ?? 0;
      const failAt = data.failAt ?? 0;
      const values = range(0, failAt > 0 ? Math.min(failAt, count) : count).pipe(map((value) => ({ value })));
      if (failAt <= 0 || failAt >= count) return values;
      return concat(values, throwError(() => new RpcException({ code: data.code, message: `stopped at ${failAt}` })));
    },
    grpcFail: (data) => {
      if (data.code === undefined) throw new Error('not for the caller\'s eyes');
      if (data.code === 0) throw new RpcException(data.message);
      throw new RpcException({ code: data.code, message: data.message });
    },
    grpcWhoami: (data, metadata) => ({ value: String(metadata.get(data.name)[0] ?? '(none)') }),
    grpcAccumulate: (items) => items.pipe(reduce((total, item) => total + (item.value ?? 0), 0), map((total) => ({ total }))),
    grpcEcho: (items) => items,
  };
  const handlers = [
    ['grpcSum', GrpcMethod('Math', 'Sum')],
    ['grpcRange', GrpcMethod('Math', 'Range')],
    ['grpcFail', GrpcMethod('Math', 'Fail')],
    ['grpcWhoami', GrpcMethod('Math', 'Whoami')],
    ['grpcAccumulate', GrpcStreamMethod('Math', 'Accumulate')],
    ['grpcEcho', GrpcStreamMethod('Math', 'Echo')],
  ];
  return { methods, handlers };
}

function buildAppModule({ common, ms, rx, impl, jwt }, transportName, query) {
  const { Controller, Module } = common;
  const { MessagePattern, EventPattern, RpcException, Payload, Ctx } = ms;
  // TypeScript's __param: a parameter decorator applied as a method decorator.
  const param = (index, decorator) => (target, key) => decorator(target, key, index);
  const { range, interval, take, concat, timer, ignoreElements, mergeMap, throwError } = rx;

  class AppController {
    constructor() {
      this.transportName = transportName;
      this.recordLog = [];
    }
    sum(data) {
      return data.reduce((a, b) => a + b, 0);
    }
    sumMath(data) {
      return data.reduce((a, b) => a + b, 0);
    }
    mixed() {
      return 'mixed';
    }
    echo(data) {
      return data;
    }
    // Number(n): over Kafka a number arrives as its text (NestJS's KafkaParser).
    count(n) {
      return range(0, Number(n)); // synchronous stream, then completes
    }
    countSlow(n) {
      return interval(50).pipe(take(Number(n)));
    }
    countThenWait(n) {
      // All values at once, the completion 20 ms later: it goes alone, as {"isDisposed":true}.
      return concat(range(0, Number(n)), timer(20).pipe(ignoreElements()));
    }
    countThenFail(n) {
      return concat(
        range(0, Number(n)),
        timer(20).pipe(mergeMap(() => throwError(() => new RpcException('stream broke')))),
      );
    }
    nothing() {}
    async nothingAsync() {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throwString() {
      throw 'text';
    }
    throwObject() {
      throw { code: 7, message: 'plain object' };
    }
    failNumber() {
      throw new RpcException(42);
    }
    failArray(data) {
      throw new RpcException(data);
    }
    failError() {
      // An Error's own properties (message, stack) are not enumerable: it goes out as {}.
      throw new RpcException(new Error('inner'));
    }
    recordMultiA(data) {
      this.recordLog.push(`a:${data}`);
    }
    recordMultiB(data) {
      this.recordLog.push(`b:${data}`);
    }
    nonAscii() {
      return 'non-ascii';
    }
    caseUpper() {
      return 'upper';
    }
    caseLower() {
      return 'lower';
    }
    caseBoth() {
      return 'both-cases';
    }
    nested() {
      return 'nested';
    }
    numeric() {
      return 'numeric';
    }
    async slow(ms) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms;
    }
    failRpc(data) {
      throw new RpcException(data);
    }
    failObject(data) {
      throw new RpcException(data);
    }
    failInternal() {
      throw new Error('boom');
    }
    record(data) {
      this.recordLog.push(data);
    }
    records() {
      const out = this.recordLog;
      this.recordLog = [];
      return out;
    }
    headers(data, context) {
      // NatsContext.getHeaders(): a MsgHdrs, or undefined without headers. NestJS 12's TCP and
      // Redis contexts: getMetadata(), the packet's `metadata` object.
      if (context.getHeaders) return context.getHeaders()?.get('x-trace') || null;
      // RmqContext: the AMQP message's headers.
      if (context.getChannelRef) return context.getMessage()?.properties?.headers?.['x-trace'] ?? null;
      // KafkaContext: the record's headers, decoded by KafkaParser.
      if (context.getPartition) return context.getMessage()?.headers?.['x-trace'] ?? null;
      // MqttContext: the MQTT 5 packet's user properties.
      if (context.getTopic) return context.getPacket()?.properties?.userProperties?.['x-trace'] ?? null;
      return context.getMetadata?.()?.['x-trace'] ?? null;
    }
    ctx(data, context) {
      // TcpContext has getPattern(); NatsContext the subject, RedisContext the channel and
      // MqttContext and KafkaContext the topic, which are the route.
      const pattern = context.getPattern
        ? context.getPattern()
        : context.getSubject
          ? context.getSubject()
          : context.getTopic
            ? context.getTopic()
            : context.getChannel();
      return { transport: this.transportName, pattern, impl };
    }
  }

  const extra = configHandlers({ ms, impl }, query);
  const guarded = jwtHandlers({ common, ms, jwt, impl });
  const grpc = transportName === 'grpc' ? grpcHandlers({ ms, rx }) : { methods: {}, handlers: [] };
  Object.assign(AppController.prototype, extra.methods, guarded.methods, grpc.methods);
  const handlers = [
    ...extra.handlers,
    ...guarded.handlers,
    ...grpc.handlers,
    ['sum', MessagePattern('sum')],
    ['sumMath', MessagePattern({ cmd: 'sum', role: 'math' })],
    // Registered "with the keys in this order"; note that JS itself puts the integer-like keys
    // "2" and "10" first (ascending) whatever the source order, and Nest sorts the keys anyway.
    ['mixed', MessagePattern({ Zeta: 1, alpha: 2, _u: 3, '-d': 4, 10: 5, 2: 6 })],
    ['echo', MessagePattern('echo')],
    ['count', MessagePattern('count')],
    ['countSlow', MessagePattern('count.slow')],
    ['slow', MessagePattern('slow')],
    ['failRpc', MessagePattern('fail.rpc')],
    ['failObject', MessagePattern('fail.object')],
    ['failInternal', MessagePattern('fail.internal')],
    ['record', EventPattern('record')],
    ['records', MessagePattern('records')],
    // Only the payload reaches a handler by default; the context needs @Ctx().
    ['ctx', MessagePattern('ctx'), param(0, Payload()), param(1, Ctx())],
    ['headers', MessagePattern('headers'), param(0, Payload()), param(1, Ctx())],
    ['countThenWait', MessagePattern('count.then-wait')],
    ['countThenFail', MessagePattern('count.then-fail')],
    ['nothing', MessagePattern('nothing')],
    ['nothingAsync', MessagePattern('nothing.async')],
    ['throwString', MessagePattern('throw.string')],
    ['throwObject', MessagePattern('throw.object')],
    ['failNumber', MessagePattern('fail.number')],
    ['failArray', MessagePattern('fail.array')],
    ['failError', MessagePattern('fail.error')],
    // Two handlers of one event pattern: NestJS runs both.
    ['recordMultiA', EventPattern('record.multi')],
    ['recordMultiB', EventPattern('record.multi')],
    ['nonAscii', MessagePattern(NON_ASCII_PATTERN)],
    ['caseUpper', MessagePattern({ Key: 1 })],
    ['caseLower', MessagePattern({ key: 1 })],
    ['caseBoth', MessagePattern({ a: 1, A: 2 })],
    ['nested', MessagePattern(NESTED_PATTERN)],
    ['numeric', MessagePattern(42)],
  ];
  for (const [key, ...decorators] of handlers) {
    const proto = AppController.prototype;
    const desc = Object.getOwnPropertyDescriptor(proto, key);
    const result = Reflect.decorate(decorators, proto, key, desc);
    Object.defineProperty(proto, key, result ?? desc);
  }
  const Ctrl = Reflect.decorate([Controller()], AppController);

  class AppModule {}
  return Reflect.decorate([Module({ controllers: [Ctrl] })], AppModule);
}

async function serve(libs, t) {
  const { core, ms, common } = libs;
  let app = null;
  let closing = false;
  const shutdown = async (signal) => {
    if (closing) return;
    closing = true;
    try {
      await app?.close();
    } catch (err) {
      process.stderr.write(`peer: close after ${signal} failed: ${err?.stack ?? err}\n`);
    }
    process.exit(0);
  };
  onSignal = shutdown;

  const logger = stderrLogger();
  common.Logger.overrideLogger(logger);
  const AppModule = buildAppModule(libs, t.name, t.query);
  app = await core.NestFactory.createMicroservice(AppModule, {
    ...t.server,
    logger,
  });
  await app.listen();
  if (closing) return new Promise(() => {}); // a signal came during start-up
  process.stdout.write(`READY ${t.ready(app)}\n`);
  return new Promise(() => {}); // runs until a signal
}

// ---------------------------------------------------------------------------------------------
// Client scenarios

class Fail extends Error {}

function show(v) {
  if (v instanceof Error) return `${v.constructor?.name ?? 'Error'}(${JSON.stringify(v.message)})`;
  if (v === undefined) return 'undefined';
  let s = safeJson(v);
  if (s.length > 160) s = `${s.slice(0, 120)}...(${s.length} chars)`;
  return s;
}

function showOutcome(o) {
  const parts = [`values ${show(o.values)}`];
  if (o.error !== undefined) parts.push(`error ${show(o.error)}`);
  else parts.push(o.completed ? 'completed' : 'not completed');
  return parts.join(', ');
}

// Subscribes to an Observable and records everything it does.
function recordOutcome(obs, onValue) {
  return new Promise((resolve) => {
    const o = { values: [], error: undefined, completed: false };
    obs.subscribe({
      next: (v) => {
        o.values.push(v);
        onValue?.(v, o);
      },
      error: (e) => {
        o.error = e;
        resolve(o);
      },
      complete: () => {
        o.completed = true;
        resolve(o);
      },
    });
  });
}

function expectValues(what, o, expected) {
  if (o.error !== undefined || !o.completed || !isDeepStrictEqual(o.values, expected)) {
    throw new Fail(`${what}: expected values ${show(expected)} then completion, got ${showOutcome(o)}`);
  }
}

const expectValue = (what, o, expected) => expectValues(what, o, [expected]);

function expectError(what, o, expected) {
  if (o.values.length !== 0 || o.error === undefined || !isDeepStrictEqual(o.error, expected)) {
    throw new Fail(`${what}: expected error ${show(expected)} and no value, got ${showOutcome(o)}`);
  }
}

function stdinLines() {
  const rl = createInterface({ input: process.stdin });
  const queue = [];
  const waiters = [];
  let closed = false;
  rl.on('line', (line) => (waiters.length ? waiters.shift()(line) : queue.push(line)));
  rl.on('close', () => {
    closed = true;
    while (waiters.length) waiters.shift()(null);
  });
  return () =>
    queue.length ? Promise.resolve(queue.shift()) : closed ? Promise.resolve(null) : new Promise((r) => waiters.push(r));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// 1 MiB of UTF-8: 262,144 x "é" (2 bytes each) then 131,072 x "😀" (4 bytes each);
// 524,288 UTF-16 code units.
export const LARGE_STRING = 'é'.repeat(262144) + '😀'.repeat(131072);

// The same string as roost_peer's: 3 MiB of UTF-8 (524,288 x "ab😀"), over 1 MiB both ways.
const HUGE_STRING = 'ab😀'.repeat(524288);

// Records the events' log entries sorted: NestJS starts an event's handlers one after the other
// but does not promise the order in which they finish.
const sorted = (xs) => [...xs].sort();

// A queue group of two servers (SCENARIOS.md): server i of `--server-impl a+b` is named
// `<queue>-i` (the harness gives it `name=`), and tells its counts on `<queue>.stats.<name>`.
const QUEUE_N = 40;

function queueGroup(t, serverImpl) {
  const queue = t.query?.get('queue');
  const impls = (serverImpl ?? '').split('+');
  if (!queue || impls.length !== 2) throw new Fail('needs a URL with ?queue= and two servers in --server-impl (a+b)');
  const names = impls.map((_, i) => `${queue}-${i + 1}`);
  return { queue, ids: impls.map((impl, i) => ({ impl, name: names[i] })), stats: names.map((n) => `${queue}.stats.${n}`) };
}

async function groupStats(c, g) {
  const out = [];
  for (const subject of g.stats) {
    const o = await recordOutcome(c.send(subject, 0));
    const st = o.values[0];
    if (o.error !== undefined || o.values.length !== 1 || !Number.isInteger(st?.served) || !Number.isInteger(st?.events)) {
      throw new Fail(`${subject}: expected counts, got ${showOutcome(o)}`);
    }
    out.push(st);
  }
  return out;
}

// Kafka carries scalars as their text (NestJS's KafkaParser JSON-parses only objects and
// arrays): the value a Kafka client gets for a number or boolean, one level into arrays.
const asKafkaText = (v) =>
  Array.isArray(v) ? v.map(asKafkaText) : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;

// The reply topics a Kafka client reads (NestJS's subscribeToResponseOf, before connect()): the
// patterns of the scenarios that run over Kafka.
const KAFKA_PATTERNS = [
  'sum', 'echo', 'count', 'count.slow', 'count.then-wait', 'count.then-fail', 'slow', 'nothing',
  'nothing.async', 'fail.rpc', 'fail.object', 'fail.internal', 'throw.string', 'throw.object',
  'fail.number', 'fail.array', 'fail.error', 'records', 'ctx', 'headers', 42,
];

function scenarios({ rx, ms, nats, jwt }, t, serverImpl) {
  const { timeout, lastValueFrom } = rx;
  const kafka = t.name === 'kafka';
  const kv = (v) => (kafka ? asKafkaText(v) : v);
  // NestJS's Kafka client turns a reply's end alone (a record with a null value) into one more
  // `null` value: that artifact is left out, so a stream reads the same on every transport.
  const outcome = async (obs, onValue) => {
    const o = await recordOutcome(obs, onValue);
    if (kafka && o.completed && o.values.length > 0 && o.values.at(-1) === null) o.values.pop();
    return o;
  };
  // Kafka: the events land on the partitions of `record` and the request on another topic, so
  // neither their order nor their arrival before `records` is given: the log is read until all
  // 100 came (or 10 s), and compared sorted. Each arrives as its text.
  const kafkaEvents = async (c) => {
    const first = await outcome(c.send('records', 0));
    if (first.error !== undefined || first.values.length !== 1) throw new Fail(`records 0 (clear): got ${showOutcome(first)}`);
    const sent = [];
    for (let i = 1; i <= 100; i++) sent.push(lastValueFrom(c.emit('record', i), { defaultValue: undefined }));
    await Promise.all(sent);
    const got = [];
    for (let waited = 0; got.length < 100 && waited < 10000; waited += 100) {
      const o = await outcome(c.send('records', 0));
      if (o.error !== undefined || o.values.length !== 1 || !Array.isArray(o.values[0])) throw new Fail(`records 0: got ${showOutcome(o)}`);
      got.push(...o.values[0]);
      if (got.length < 100) await sleep(100);
    }
    const want = Array.from({ length: 100 }, (_, i) => String(i + 1));
    const byNumber = [...got].sort((a, b) => Number(a) - Number(b));
    if (!isDeepStrictEqual(byNumber, want)) throw new Fail(`records after 100 events: expected (in any order) ${show(want)}, got ${show(got)}`);
  };
  return {
    async sum(c) {
      expectValue('sum [1,2,3]', await outcome(c.send('sum', [1, 2, 3])), kv(6));
      expectValue('sum [0.5,0.25]', await outcome(c.send('sum', [0.5, 0.25])), kv(0.75));
    },
    async 'echo.strings'(c) {
      const s = 'héllo wörld 😀 𝄞 日本 " \\ \n';
      expectValue('echo string', await outcome(c.send('echo', s)), s);
    },
    async 'echo.nested'(c) {
      const v = { a: { b: [1, { c: null }], e: [] }, d: 'x', n: -1.5e-7 };
      expectValue('echo nested', await outcome(c.send('echo', v)), v);
    },
    async 'echo.large'(c) {
      const o = await outcome(c.send('echo', LARGE_STRING));
      if (o.values.length === 1 && typeof o.values[0] === 'string' && o.values[0] !== LARGE_STRING) {
        const got = o.values[0];
        let i = 0;
        while (i < got.length && got[i] === LARGE_STRING[i]) i++;
        throw new Fail(`echo 1 MiB string: got a string of ${got.length} code units (expected ${LARGE_STRING.length}), first difference at ${i}`);
      }
      expectValue('echo 1 MiB string', o, LARGE_STRING);
    },
    async 'echo.falsy'(c) {
      for (const v of [0, false, '']) expectValue(`echo ${show(v)}`, await outcome(c.send('echo', v)), kv(v));
    },
    async 'echo.null'(c) {
      // A Nest client refuses null data locally, before anything goes on the wire.
      const o = await outcome(c.send('echo', null));
      if (o.values.length !== 0 || !(o.error instanceof Error) || o.error.constructor.name !== 'InvalidMessageException') {
        throw new Fail(`echo null: expected a local InvalidMessageException, got ${showOutcome(o)}`);
      }
    },
    async 'object-pattern'(c) {
      expectValue('{"role":"math","cmd":"sum"} [1,2]', await outcome(c.send({ role: 'math', cmd: 'sum' }, [1, 2])), 3);
      expectValue('{"cmd":"sum","role":"math"} [2,3]', await outcome(c.send({ cmd: 'sum', role: 'math' }, [2, 3])), 5);
    },
    async 'object-pattern.mixed-keys'(c) {
      const p = { 2: 6, 10: 5, '-d': 4, _u: 3, alpha: 2, Zeta: 1 };
      expectValue(`${JSON.stringify(p)} 0`, await outcome(c.send(p, 0)), 'mixed');
    },
    async 'stream.0'(c) {
      expectValues('count 0', await outcome(c.send('count', 0)), []);
    },
    async 'stream.1'(c) {
      expectValues('count 1', await outcome(c.send('count', 1)), kv([0]));
    },
    async 'stream.1000'(c) {
      const o = await outcome(c.send('count', 1000));
      expectValues('count 1000', o, kv(Array.from({ length: 1000 }, (_, i) => i)));
    },
    async 'error.rpc'(c) {
      expectError('fail.rpc "bad thing"', await outcome(c.send('fail.rpc', 'bad thing')), { status: 'error', message: 'bad thing' });
    },
    async 'error.object'(c) {
      const e = { code: 42, message: 'obj err' };
      expectError('fail.object', await outcome(c.send('fail.object', e)), e);
    },
    async 'error.internal'(c) {
      expectError('fail.internal 0', await outcome(c.send('fail.internal', 0)), { status: 'error', message: 'Internal server error' });
    },
    async 'no-handler'(c) {
      if (t.name === 'nats') {
        // A NATS server subscribes only to its handlers' subjects: nobody gets `nope`, and the
        // NATS server's "no responders" status makes the client fail at once.
        const o = await outcome(c.send('nope', 1));
        const want = 'Empty response. There are no subscribers listening to that message ("nope")';
        if (o.values.length !== 0 || !(o.error instanceof Error) || o.error.message !== want) {
          throw new Fail(`nope 1: expected an error ${JSON.stringify(want)}, got ${showOutcome(o)}`);
        }
        return;
      }
      expectError('nope 1', await outcome(c.send('nope', 1)), 'There is no matching message handler defined in the remote service.');
    },
    async events(c) {
      if (kafka) return kafkaEvents(c);
      const first = await outcome(c.send('records', 0));
      if (first.error !== undefined || first.values.length !== 1) throw new Fail(`records 0 (clear): got ${showOutcome(first)}`);
      const sent = [];
      for (let i = 1; i <= 100; i++) sent.push(lastValueFrom(c.emit('record', i), { defaultValue: undefined }));
      await Promise.all(sent);
      expectValue('records 0 after 100 events', await outcome(c.send('records', 0)), Array.from({ length: 100 }, (_, i) => i + 1));
    },
    async concurrent(c) {
      const all = await Promise.all(Array.from({ length: 1000 }, (_, i) => outcome(c.send('echo', { i }))));
      all.forEach((o, i) => expectValue(`echo {"i":${i}} (one of 1000 in flight)`, o, { i }));
    },
    async timeout(c) {
      const t0 = Date.now();
      const o = await outcome(c.send('slow', 400).pipe(timeout(100)));
      const took = Date.now() - t0;
      if (o.values.length !== 0 || !(o.error instanceof Error) || o.error.name !== 'TimeoutError') {
        throw new Fail(`slow 400 with a 100 ms timeout: expected TimeoutError, got ${showOutcome(o)}`);
      }
      if (took > 350) throw new Fail(`slow 400 with a 100 ms timeout: the timeout error came after ${took} ms`);
      await sleep(600);
      expectValue('sum [1,2] after the timeout', await outcome(c.send('sum', [1, 2])), kv(3));
    },
    async headers(c) {
      if (kafka) {
        // Kafka: record headers of a Kafka message given as the data (NestJS's ClientKafka takes
        // an object with `value` as the record). A null reply is an end alone (no value).
        const message = { value: 0, headers: { 'x-trace': 'abc' } };
        expectValue('headers x-trace=abc', await outcome(c.send('headers', message)), 'abc');
        expectValues('no headers', await outcome(c.send('headers', 0)), []);
        return;
      }
      if (t.name === 'rmq') {
        // RabbitMQ: AMQP headers of an RmqRecord (NestJS's RmqRecordBuilder).
        const record = new ms.RmqRecordBuilder(0).setOptions({ headers: { 'x-trace': 'abc' } }).build();
        expectValue('headers x-trace=abc', await outcome(c.send('headers', record)), 'abc');
        expectValue('no headers', await outcome(c.send('headers', 0)), null);
        return;
      }
      if (t.name === 'mqtt') {
        // MQTT 5: user properties of an MqttRecord (NestJS's MqttRecordBuilder).
        const record = new ms.MqttRecordBuilder(0).setProperties({ userProperties: { 'x-trace': 'abc' } }).build();
        expectValue('user property x-trace=abc', await outcome(c.send('headers', record)), 'abc');
        expectValue('no user properties', await outcome(c.send('headers', 0)), null);
        return;
      }
      if (t.name !== 'nats') {
        // NestJS 12 packet metadata: the dispatch hook may set `packet.metadata`.
        if (!c.setOnDispatchHook) throw new Fail('headers: this NestJS has no packet metadata (setOnDispatchHook)');
        let metadata;
        c.setOnDispatchHook((packet) => {
          if (metadata) packet.metadata = metadata;
        });
        metadata = { 'x-trace': 'abc' };
        expectValue('metadata x-trace=abc', await outcome(c.send('headers', 0)), 'abc');
        metadata = undefined;
        expectValue('no metadata', await outcome(c.send('headers', 0)), null);
        return;
      }
      // NATS: a NatsRecord with headers (NestJS's NatsRecordBuilder).
      if (!nats) throw new Fail('headers: no NATS client library loaded');
      const h = nats.headers();
      h.set('x-trace', 'abc');
      const record = new ms.NatsRecordBuilder(0).setHeaders(h).build();
      expectValue('headers x-trace=abc', await outcome(c.send('headers', record)), 'abc');
      expectValue('no headers', await outcome(c.send('headers', 0)), null);
    },
    async jwt(c) {
      // A bearer token as a NestJS client sends it: NestJS 12 packet metadata on TCP and Redis
      // (set in the dispatch hook), a NATS header (NatsRecordBuilder), an AMQP header
      // (RmqRecordBuilder), an MQTT 5 user property (MqttRecordBuilder). The server's guard lets
      // only the valid one through and its handler answers the token's `sub`.
      const ownHeaders = t.name === 'nats' || t.name === 'rmq' || t.name === 'mqtt';
      const issuerKey = jwtKey('issuer.key');
      const forgerKey = jwtKey('forger.key');
      const route = jwtRoute();
      if (!issuerKey || !forgerKey || !route) throw new Fail('jwt: no keys or route (ROOST_INTEROP_JWT_KEYS and _ROUTE, from run-suite.sh)');
      let metadata;
      if (!ownHeaders) {
        if (!c.setOnDispatchHook) throw new Fail('jwt: this NestJS has no packet metadata (setOnDispatchHook)');
        c.setOnDispatchHook((packet) => {
          if (metadata) packet.metadata = metadata;
        });
      } else if (t.name === 'nats' && !nats) {
        throw new Fail('jwt: no NATS client library loaded');
      }
      const whoami = (token) => {
        if (!ownHeaders) {
          metadata = token ? { authorization: `Bearer ${token}` } : undefined;
          return outcome(c.send(route, 0));
        }
        if (!token) return outcome(c.send(route, 0));
        if (t.name === 'rmq') {
          const headers = { authorization: `Bearer ${token}` };
          return outcome(c.send(route, new ms.RmqRecordBuilder(0).setOptions({ headers }).build()));
        }
        if (t.name === 'mqtt') {
          const userProperties = { authorization: `Bearer ${token}` };
          return outcome(c.send(route, new ms.MqttRecordBuilder(0).setProperties({ userProperties }).build()));
        }
        const h = nats.headers();
        h.set('authorization', `Bearer ${token}`);
        return outcome(c.send(route, new ms.NatsRecordBuilder(0).setHeaders(h).build()));
      };
      expectValue('a valid token', await whoami(signToken(jwt, issuerKey)), { sub: SUBJECT, impl: serverImpl });
      const forbidden = { status: 'error', message: 'Forbidden resource' };
      const now = Math.floor(Date.now() / 1000);
      expectError('no token', await whoami(null), forbidden);
      expectError('an expired token', await whoami(signToken(jwt, issuerKey, { iat: now - 600, exp: now - 300 })), forbidden);
      expectError('a token signed by another key', await whoami(signToken(jwt, forgerKey)), forbidden);
      expectError('a token for another audience', await whoami(signToken(jwt, issuerKey, { aud: `not-${AUDIENCE}` })), forbidden);
      if (!ownHeaders) return;
      // NATS, RabbitMQ and MQTT 5, the other ways a NestJS client may try: the client option
      // `headers` (MQTT: `userProperties`), which NestJS adds to every message, is a header too;
      // NestJS 12's packet metadata is not (it goes inside the JSON body, where no server looks).
      const bearer = `Bearer ${signToken(jwt, issuerKey)}`;
      // MQTT: a client id of its own (two clients with one id push each other off the broker).
      const ownOption =
        t.name === 'mqtt' ? { clientId: undefined, userProperties: { authorization: bearer } } : { headers: { authorization: bearer } };
      const withOption = ms.ClientProxyFactory.create({
        ...t.client,
        options: { ...t.client.options, ...ownOption },
      });
      try {
        expectValue('a valid token in the client option `headers`', await outcome(withOption.send(route, 0)), { sub: SUBJECT, impl: serverImpl });
      } finally {
        await withOption.close();
      }
      if (!c.setOnDispatchHook) return; // NestJS 11: no packet metadata
      // MQTT: roost's server reads the body's packet metadata of a message without user
      // properties (all an MQTT 3.1.1 client can send), NestJS's never: not a check both pass.
      if (t.name === 'mqtt') return;
      c.setOnDispatchHook((packet) => {
        packet.metadata = { authorization: bearer };
      });
      expectError(`a valid token as packet metadata, on ${t.name}`, await outcome(c.send(route, 0)), forbidden);
    },
    async ctx(c) {
      // `impl` names the server that answered: a stray server of another run on the same broker
      // cannot pass for the one the harness started.
      if (!serverImpl) throw new Fail('ctx: no --server-impl given');
      expectValue('ctx 0', await outcome(c.send('ctx', 0)), { transport: t.name, pattern: 'ctx', impl: serverImpl });
    },
    async wildcards(c) {
      // A wildcards server: `orders.*` answers `orders.created` and `orders.42`; `audit.*`
      // takes events on `audit.login` and `audit.logout`.
      for (const channel of ['orders.created', 'orders.42']) {
        const data = `to ${channel}`;
        if (serverImpl === 'nest11' && t.name === 'redis') {
          // NestJS 11 publishes the reply on `orders.*.reply`, where no client listens.
          const o = await outcome(c.send(channel, data).pipe(timeout(500)));
          if (o.values.length !== 0 || o.error?.name !== 'TimeoutError') {
            throw new Fail(`${channel}: NestJS 11 should not answer on its channel, got ${showOutcome(o)}`);
          }
          break;
        }
        expectValue(`${channel} to orders.*`, await outcome(c.send(channel, data)), { impl: serverImpl, channel, data });
      }
      const first = await outcome(c.send('records', 0));
      if (first.error !== undefined || first.values.length !== 1) throw new Fail(`records 0 (clear): got ${showOutcome(first)}`);
      await lastValueFrom(c.emit('audit.login', 1), { defaultValue: undefined });
      await lastValueFrom(c.emit('audit.logout', 2), { defaultValue: undefined });
      await sleep(100); // events have no reply: let them land before asking
      const o = await outcome(c.send('records', 0));
      const want = ['audit.login:1', 'audit.logout:2'];
      if (o.error !== undefined || o.values.length !== 1 || !isDeepStrictEqual(sorted(o.values[0]), want)) {
        throw new Fail(`audit.login 1, audit.logout 2 then records: expected (in any order) ${show(want)}, got ${showOutcome(o)}`);
      }
    },
    async 'queue.requests'(c) {
      const g = queueGroup(t, serverImpl);
      const before = await groupStats(c, g); // counts are since the server started
      const answered = g.ids.map(() => 0);
      for (let i = 0; i < QUEUE_N; i++) {
        const o = await outcome(c.send(`${g.queue}.work`, i));
        const k = o.values.length === 1 ? g.ids.findIndex((id) => isDeepStrictEqual(id, o.values[0])) : -1;
        if (k < 0) throw new Fail(`work: expected a reply from a server of the group, got ${showOutcome(o)}`);
        answered[k]++;
      }
      const stats = await groupStats(c, g);
      g.ids.forEach((id, k) => {
        // Served more than it answered: another member answered the same request too.
        const served = stats[k].served - before[k].served;
        if (served !== answered[k] || answered[k] === 0) {
          throw new Fail(`${show(id)} answered ${answered[k]} and served ${served} of ${QUEUE_N} (each request once, by both servers)`);
        }
      });
    },
    async 'queue.events'(c) {
      const g = queueGroup(t, serverImpl);
      const before = (await groupStats(c, g)).map((st) => st.events); // since the server started
      for (let i = 0; i < QUEUE_N; i++) await lastValueFrom(c.emit(`${g.queue}.tally`, i), { defaultValue: undefined });
      // Events have no reply: read the counts until all have landed (or 3 s), then once more so
      // that a copy delivered late to the other server shows.
      const counted = async () => (await groupStats(c, g)).map((st, k) => st.events - before[k]);
      const total = (got) => got.reduce((a, b) => a + b, 0);
      for (let waited = 0; waited < 3000; waited += 50) {
        await sleep(50);
        if (total(await counted()) >= QUEUE_N) break;
      }
      await sleep(100);
      const got = await counted();
      if (total(got) !== QUEUE_N || got.includes(0)) {
        throw new Fail(`tally x${QUEUE_N}: the servers counted ${got.join(' and ')} (each event once, by both servers)`);
      }
    },
    async 'object-pattern.non-ascii'(c) {
      const p = { e: 3, Ω: 5, é: 1, z: 2, 日本: 4 };
      expectValue(`${JSON.stringify(p)} 0`, await outcome(c.send(p, 0)), 'non-ascii');
    },
    async 'object-pattern.case'(c) {
      expectValue('{"Key":1}', await outcome(c.send({ Key: 1 }, 0)), 'upper');
      expectValue('{"key":1}', await outcome(c.send({ key: 1 }, 0)), 'lower');
      expectValue('{"A":2,"a":1}', await outcome(c.send({ A: 2, a: 1 }, 0)), 'both-cases');
    },
    async 'object-pattern.nested'(c) {
      const p = { opts: { m: { x: 2, y: 1 }, a: true, z: [1, { a: 'x', b: 2 }] }, cmd: 'nested' };
      expectValue(`${JSON.stringify(p)} 0`, await outcome(c.send(p, 0)), 'nested');
    },
    async 'numeric-pattern'(c) {
      expectValue('42 0', await outcome(c.send(42, 0)), 'numeric');
    },
    async 'stream.then-wait'(c) {
      expectValues('count.then-wait 3', await outcome(c.send('count.then-wait', 3)), kv([0, 1, 2]));
      expectValues('count.then-wait 0', await outcome(c.send('count.then-wait', 0)), []);
    },
    async 'stream.then-fail'(c) {
      const o = await outcome(c.send('count.then-fail', 2));
      const want = { status: 'error', message: 'stream broke' };
      if (!isDeepStrictEqual(o.values, kv([0, 1])) || !isDeepStrictEqual(o.error, want)) {
        throw new Fail(`count.then-fail 2: expected values [0,1] then error ${show(want)}, got ${showOutcome(o)}`);
      }
    },
    async 'stream.interleaved'(c) {
      const all = await Promise.all([3, 5, 4].map((n) => outcome(c.send('count.slow', n))));
      all.forEach((o, k) => {
        const n = [3, 5, 4][k];
        expectValues(`count.slow ${n} (one of 3 at once)`, o, kv(Array.from({ length: n }, (_, i) => i)));
      });
    },
    async void(c) {
      // undefined goes out as {"isDisposed":true} with no `response`: no value, then completion.
      expectValues('nothing 0', await outcome(c.send('nothing', 0)), []);
      expectValues('nothing.async 0', await outcome(c.send('nothing.async', 0)), []);
    },
    async 'error.thrown'(c) {
      // Anything but an RpcException is an internal error, whatever was thrown.
      const internal = { status: 'error', message: 'Internal server error' };
      expectError('throw.string 0', await outcome(c.send('throw.string', 0)), internal);
      expectError('throw.object 0', await outcome(c.send('throw.object', 0)), internal);
    },
    async 'error.rpc-values'(c) {
      expectError('fail.number 0', await outcome(c.send('fail.number', 0)), { status: 'error', message: 42 });
      const a = [1, 'two', { three: 3 }];
      expectError('fail.array', await outcome(c.send('fail.array', a)), a);
      expectError('fail.error 0', await outcome(c.send('fail.error', 0)), {});
    },
    async 'events.multi'(c) {
      const first = await outcome(c.send('records', 0));
      if (first.error !== undefined || first.values.length !== 1) throw new Fail(`records 0 (clear): got ${showOutcome(first)}`);
      const sent = [];
      for (let i = 1; i <= 10; i++) sent.push(lastValueFrom(c.emit('record.multi', i), { defaultValue: undefined }));
      await Promise.all(sent);
      await sleep(100); // events have no reply: let the last ones land before asking
      const o = await outcome(c.send('records', 0));
      const want = sorted(Array.from({ length: 10 }, (_, i) => [`a:${i + 1}`, `b:${i + 1}`]).flat());
      if (o.error !== undefined || o.values.length !== 1 || !isDeepStrictEqual(sorted(o.values[0]), want)) {
        throw new Fail(`record.multi 1..10 then records: expected (in any order) ${show(want)}, got ${showOutcome(o)}`);
      }
    },
    async 'echo.huge'(c) {
      const o = await outcome(c.send('echo', HUGE_STRING));
      if (o.values.length === 1 && o.values[0] !== HUGE_STRING) {
        throw new Fail(`echo 3 MiB string: got ${typeof o.values[0]} of length ${o.values[0]?.length}`);
      }
      expectValue('echo 3 MiB string', o, HUGE_STRING);
    },
    async reconnect(c, io) {
      expectValue('sum [1] before the restart', await outcome(c.send('sum', [1])), 1);
      io.say('WAIT restart');
      if ((await io.line()) === null) throw new Fail('stdin closed before the harness restarted the server');
      expectValue('sum [2] after the restart', await outcome(c.send('sum', [2])), 2);
    },
    async 'server-close-mid-stream'(c, io) {
      // Prints "WAIT kill" after the first value; the harness then kill -9s the server (it writes
      // nothing back). The stream must end with an error at the latest 3 s after "WAIT kill"; the
      // values received before it must be 0, 1, 2, ... in order.
      let sawFirst;
      const first = new Promise((r) => (sawFirst = r));
      const done = outcome(c.send('count.slow', 1000), (v, o) => o.values.length === 1 && sawFirst());
      const early = await Promise.race([first.then(() => null), done]);
      if (early) throw new Fail(`count.slow 1000: the stream ended before its first value: ${showOutcome(early)}`);
      io.say('WAIT kill');
      const t0 = Date.now();
      const o = await Promise.race([done, sleep(3000).then(() => null)]);
      if (!o) throw new Fail('count.slow 1000: the stream did not end within 3 s of "WAIT kill"');
      const inOrder = o.values.every((v, i) => v === i);
      if (o.error === undefined || !inOrder || o.values.length >= 1000) {
        throw new Fail(`count.slow 1000 with the server killed: expected 0,1,2,... then an error, got ${showOutcome(o)}`);
      }
      process.stderr.write(`server-close-mid-stream: ${o.values.length} values, then ${show(o.error)} ${Date.now() - t0} ms after WAIT kill\n`);
    },
  };
}

// The gRPC scenarios (SCENARIOS.md, "gRPC"), through ClientGrpc's service of interop.Math. The
// metadata is made by the grpc-js this NestJS loads (the entry script's node_modules): a Metadata
// of another copy would not be taken for one.
function grpcScenarios({ rx }) {
  const { lastValueFrom, from } = rx;
  const service = (c) => c.getService('Math');
  const grpcError = (o) => (o.error ? { code: o.error.code, details: o.error.details } : undefined);
  const expectStatus = (what, o, code, details) => {
    const e = grpcError(o);
    if (o.values.length !== 0 || !e || e.code !== code || e.details !== details) {
      throw new Fail(`${what}: expected status ${code} "${details}" and no value, got ${showOutcome(o)} ${show(e)}`);
    }
  };
  return {
    'grpc.sum': async (c) => {
      expectValue('Sum [1,2,3]', await recordOutcome(service(c).sum({ numbers: [1, 2, 3] })), { total: 6 });
      expectValue('Sum []', await recordOutcome(service(c).sum({ numbers: [] })), { total: 0 });
    },
    'grpc.range': async (c) => {
      const o = await recordOutcome(service(c).range({ count: 4 }));
      expectValues('Range 4', o, [{ value: 0 }, { value: 1 }, { value: 2 }, { value: 3 }]);
    },
    'grpc.stream-error': async (c) => {
      const o = await recordOutcome(service(c).range({ count: 5, failAt: 2, code: 8 }));
      const e = grpcError(o);
      if (!isDeepStrictEqual(o.values, [{ value: 0 }, { value: 1 }]) || !e || e.code !== 8 || e.details !== 'stopped at 2') {
        throw new Fail(`Range failing at 2: expected 0, 1 then status 8 "stopped at 2", got ${showOutcome(o)} ${show(e)}`);
      }
    },
    'grpc.error-code': async (c) => {
      expectStatus('Fail 5', await recordOutcome(service(c).fail({ code: 5, message: 'no such thing' })), 5, 'no such thing');
    },
    'grpc.error-text': async (c) => {
      expectStatus('Fail text', await recordOutcome(service(c).fail({ code: 0, message: 'plain words' })), 2, 'plain words');
    },
    'grpc.error-internal': async (c) => {
      expectStatus('Fail thrown', await recordOutcome(service(c).fail({})), 2, 'Internal server error');
    },
    'grpc.unimplemented': async (c) => {
      const o = await recordOutcome(service(c).unhandled({ numbers: [1] }));
      if (grpcError(o)?.code !== 12) throw new Fail(`Unhandled: expected status 12, got ${showOutcome(o)}`);
    },
    'grpc.client-stream': async (c) => {
      const items = (values) => from(values.map((value) => ({ value })));
      expectValue('Accumulate 1..4', await recordOutcome(service(c).accumulate(items([1, 2, 3, 4]))), { total: 10 });
      expectValue('Accumulate nothing', await recordOutcome(service(c).accumulate(items([]))), { total: 0 });
    },
    'grpc.bidi': async (c) => {
      const o = await recordOutcome(service(c).echo(from([{ value: 5 }, { value: 6 }, { value: 7 }])));
      expectValues('Echo 5, 6, 7', o, [{ value: 5 }, { value: 6 }, { value: 7 }]);
    },
    'grpc.metadata': async (c) => {
      const { Metadata } = createRequire(realpathSync(process.argv[1]))('@grpc/grpc-js');
      const md = new Metadata();
      md.add('x-tenant', 'blue');
      const v = await lastValueFrom(service(c).whoami({ name: 'x-tenant' }, md));
      if (!isDeepStrictEqual(v, { value: 'blue' })) throw new Fail(`Whoami x-tenant: expected {"value":"blue"}, got ${show(v)}`);
    },
  };
}

// Runs one scenario on a fresh client; prints PASS or FAIL; returns 0 or 1.
// `shared`: a client all scenarios use (Kafka's: its reply consumer's group join takes seconds).
async function callOne(libs, t, all, name, io, shared) {
  const { ms } = libs;
  const run = all[name];
  if (!run) {
    process.stdout.write(`FAIL ${name}: unknown scenario (known: ${Object.keys(all).join(', ')})\n`);
    return 1;
  }
  const client = shared ?? ms.ClientProxyFactory.create(t.client);
  const limit = Number(process.env.ROOST_SCENARIO_TIMEOUT_MS || 60000);
  let timer;
  const watchdog = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Fail(`no result after ${limit} ms`)), limit);
  });
  let code;
  try {
    await Promise.race([run(client, io), watchdog]);
    process.stdout.write(`PASS ${name}\n`);
    code = 0;
  } catch (err) {
    const why = err instanceof Fail ? err.message : `unexpected exception ${err?.stack ?? err}`;
    process.stdout.write(`FAIL ${name}: ${why.replace(/\s*\n\s*/g, ' | ')}\n`);
    code = 1;
  }
  clearTimeout(timer);
  if (shared) return code;
  try {
    client.close();
  } catch {
    // the connection may already be gone
  }
  return code;
}

// A Kafka client as NestJS's applications make one: the reply topics subscribed before
// connect(), in a consumer group of its own (a group shared with an earlier client that has not
// left yet would wait for that member's session to time out).
async function kafkaClient(ms, t) {
  const options = { ...t.client.options };
  const groupId = `${options.consumer?.groupId ?? 'nestjs-group'}-${process.pid}-${Date.now()}`;
  options.consumer = { ...options.consumer, groupId };
  const client = ms.ClientProxyFactory.create({ ...t.client, options });
  for (const p of KAFKA_PATTERNS) client.subscribeToResponseOf(p);
  await client.connect();
  return client;
}

// `names`: one scenario, or several separated by commas, run one after the other, each on its
// own client (one process start for many scenarios).
async function call(libs, t, names, serverImpl) {
  const { common } = libs;
  common.Logger.overrideLogger(stderrLogger());
  const all = { ...scenarios(libs, t, serverImpl), ...grpcScenarios(libs) };
  let readLine;
  const io = {
    say: (line) => process.stdout.write(`${line}\n`),
    line: () => (readLine ??= stdinLines())(),
  };
  let code = 0;
  const shared = t.name === 'kafka' ? await kafkaClient(libs.ms, t) : undefined;
  for (const name of names.split(',').filter(Boolean)) code |= await callOne(libs, t, all, name, io, shared);
  if (shared) await shared.close();
  return code;
}

// ---------------------------------------------------------------------------------------------
// Command line

function usage(msg) {
  process.stderr.write(
    `${msg ? `peer: ${msg}\n` : ''}usage: peer.mjs serve --url URL (tcp://HOST:PORT, ...)\n` +
      `       peer.mjs call --url URL --scenario NAME [--server-impl roost|nest12|nest11]\n`,
  );
  return 2;
}

export async function main(libs, argv) {
  const [cmd, ...rest] = argv;
  const opts = {};
  for (let i = 0; i < rest.length; i++) {
    const m = /^--(url|scenario|server-impl)(?:=(.*))?$/.exec(rest[i]);
    if (!m) return usage(`unexpected argument ${rest[i]}`);
    opts[m[1]] = m[2] ?? rest[++i];
  }
  const t = transportFor(libs.ms, opts.url);
  if (typeof t === 'string') return usage(t);
  if (cmd === 'serve') return serve(libs, t);
  if (cmd === 'call') {
    if (!opts.scenario) return usage('call needs --scenario');
    return call(libs, t, opts.scenario, opts['server-impl']);
  }
  return usage(`unknown command ${cmd ?? ''}`);
}

// Runs `main` with the given libraries and exits with its status (an uncaught failure exits 1).
export async function runMain(libs) {
  let code;
  try {
    code = await main(libs, process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`peer: ${err?.stack ?? err}\n`);
    code = 1;
  }
  process.exit(code);
}

const isEntry = (() => {
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (isEntry) {
  await import('reflect-metadata');
  const libs = libsFrom(
    await import('@nestjs/common'),
    await import('@nestjs/core'),
    await import('@nestjs/microservices'),
    await import('rxjs'),
    await import('@nats-io/transport-node'),
    'nest12',
    await import('jsonwebtoken'),
  );
  await runMain(libs);
}
