// The WebSocket peers of the roost interop suite: a NestJS gateway (@nestjs/websockets with
// @nestjs/platform-ws, the `ws` package underneath) and a client that speaks as a browser does,
// with the `ws` package: text messages `{"event":E,"data":D}`, no ids.
//
//   node ws-peer.mjs serve --url ws://127.0.0.1:0/chat -> prints "READY <port>", exits 0 on SIGTERM
//                         (the gateway listens on a free port, at the URL's path)
//   node ws-peer.mjs call --url ws://HOST:PORT/chat --server-impl nest12|nest11|roost
//                         -> prints "PASS NAME" or "FAIL NAME: ..." per scenario; exit 1 if any failed
// wss:// URLs name the TLS files in the query, as roost's do: the server's `cert` and `key` (its
// gateway then runs on a Node https server), the client's `ca` (it verifies the server).
//
// Run directly it loads NestJS 12 from tests/interop/nest/node_modules; tests/interop/nest11/
// ws-peer.mjs loads NestJS 11 from its own and calls runWsMain() with it. Plain JS has no
// decorator syntax, so the decorators are applied with Reflect.decorate, as TypeScript's output
// does. stdout carries only READY / PASS / FAIL lines.

import { readFileSync, realpathSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

let onSignal = () => process.exit(0);
if (process.argv[2] === 'serve') {
  process.on('SIGTERM', () => onSignal());
  process.on('SIGINT', () => onSignal());
}

function flat(mod) {
  return { ...(mod.default && typeof mod.default === 'object' ? mod.default : {}), ...mod };
}

export function wsLibsFrom(common, core, microservices, websockets, platformWs, rxjs, ws) {
  return {
    common: flat(common),
    core: flat(core),
    ms: flat(microservices),
    websockets: flat(websockets),
    platformWs: flat(platformWs),
    rx: flat(rxjs),
    ws: flat(ws),
  };
}

function arg(argv, name, fallback) {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}

// The gateway: the handlers the scenarios below call, as a NestJS application writes them.
async function serve(libs, argv) {
  const { common, core, ms, websockets, platformWs, rx } = libs;
  const url = new URL(arg(argv, '--url', 'ws://127.0.0.1:0/'));
  const path = url.pathname;
  let port = 0;
  // wss://: the gateway on a Node https server of our own, given to platform-ws's adapter (a
  // gateway on port 0 then takes that server's upgrades at its path).
  let https = null;
  if (url.protocol === 'wss:') {
    https = createHttpsServer({
      cert: readFileSync(url.searchParams.get('cert')),
      key: readFileSync(url.searchParams.get('key')),
    });
    await new Promise((resolve) => https.listen(0, '127.0.0.1', resolve));
    port = https.address().port;
  }
  class Gateway {
    afterInit(server) {
      if (https) return;
      // Port 0: the `ws` server picks one.
      server.on('listening', () => {
        port = server.address().port;
      });
      if (server.address()) port = server.address().port;
    }
    echo(client, data) {
      return data;
    }
    count(client, data) {
      return rx.range(0, Number(data));
    }
    nothing() {
      return undefined;
    }
    failRpc(client, data) {
      throw new websockets.WsException(data);
    }
    whisper(client, data) {
      client.send(JSON.stringify({ event: 'whispered', data }));
      return 'sent';
    }
  }
  const handlers = {
    echo: 'echo',
    count: 'count',
    nothing: 'nothing',
    failRpc: 'fail.rpc',
    whisper: 'whisper',
  };
  for (const [method, event] of Object.entries(handlers)) {
    const d = Object.getOwnPropertyDescriptor(Gateway.prototype, method);
    Reflect.decorate([websockets.SubscribeMessage(event)], Gateway.prototype, method, d);
    Object.defineProperty(Gateway.prototype, method, d);
  }
  Reflect.decorate([websockets.WebSocketGateway(0, { path })], Gateway);
  class AppModule {}
  Reflect.decorate([common.Module({ providers: [Gateway] })], AppModule);

  const quiet = { log() {}, error: (m) => process.stderr.write(`[nest error] ${m}\n`), warn() {},
                  debug() {}, verbose() {} };
  // A microservice hosts the gateway (its TCP side, on a free port, is unused).
  const app = await core.NestFactory.createMicroservice(AppModule, {
    transport: ms.Transport.TCP,
    options: { host: '127.0.0.1', port: 0 },
    logger: quiet,
  });
  app.useWebSocketAdapter(new platformWs.WsAdapter(https ?? undefined));
  await app.listen();
  for (let i = 0; i < 200 && port === 0; ++i) await new Promise((r) => setTimeout(r, 10));
  onSignal = async () => {
    await app.close();
    https?.close();
    process.exit(0);
  };
  process.stdout.write(`READY ${port}\n`);
}

// A browser-like peer: one socket, text messages, answers read in order.
class peer {
  constructor(ws, url) {
    const u = new URL(url);
    const ca = u.searchParams.get('ca');
    u.search = '';
    this.socket = new ws.WebSocket(u.href, ca ? { ca: readFileSync(ca) } : {});
    this.inbox = [];
    this.waiters = [];
    this.closed = null;
    this.socket.on('message', (m) => {
      const text = m.toString();
      const w = this.waiters.shift();
      if (w) w(text);
      else this.inbox.push(text);
    });
    this.socket.on('close', (code) => {
      this.closed = code;
      for (const w of this.waiters.splice(0)) w(null);
    });
  }
  open() {
    return new Promise((resolve, reject) => {
      this.socket.once('open', resolve);
      this.socket.once('error', reject);
    });
  }
  send(value) {
    this.socket.send(typeof value === 'string' ? value : JSON.stringify(value));
  }
  next(ms = 10000) {
    if (this.inbox.length) return Promise.resolve(this.inbox.shift());
    if (this.closed !== null) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no message in time')), ms);
      this.waiters.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }
  close() {
    this.socket.close();
  }
}

function expectEqual(got, want, what) {
  if (!isDeepStrictEqual(got, want)) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

// The gateway scenarios: each on a socket of its own.
const scenarios = {
  async echo(p) {
    p.send({ event: 'echo', data: { a: [1, 'x'], s: 'h\u00e9llo \u{1F600}' } });
    expectEqual(JSON.parse(await p.next()), { a: [1, 'x'], s: 'h\u00e9llo \u{1F600}' }, 'echo');
  },
  async stream(p) {
    p.send({ event: 'count', data: 3 });
    const got = [];
    for (let i = 0; i < 3; ++i) got.push(JSON.parse(await p.next()));
    expectEqual(got, [0, 1, 2], 'count');
  },
  // Nothing comes back for null, an unknown event, a message that is not JSON, one without an
  // event: the echo's answer is the next message.
  async silent(p) {
    p.send({ event: 'nothing', data: 1 });
    p.send({ event: 'no such event', data: 1 });
    p.send('not json');
    p.send({ data: 'no event' });
    p.send({ event: 'echo', data: 'after' });
    expectEqual(JSON.parse(await p.next()), 'after', 'the answer after the silent ones');
  },
  // NestJS 12 sends a failing handler's error as the event "exception"; NestJS 11's filter emits
  // it on the socket object itself, so nothing goes out.
  async error(p, impl) {
    p.send({ event: 'fail.rpc', data: 'bad thing' });
    p.send({ event: 'echo', data: 'after' });
    const first = JSON.parse(await p.next());
    if (impl === 'nest11') {
      expectEqual(first, 'after', 'NestJS 11 sends nothing for an error');
      return;
    }
    expectEqual(first, {
      event: 'exception',
      data: { status: 'error', message: 'bad thing', cause: { pattern: 'fail.rpc', data: 'bad thing' } },
    }, 'the error');
    expectEqual(JSON.parse(await p.next()), 'after', 'the answer after the error');
  },
  // A handler pushes to its own socket before it answers.
  async push(p) {
    p.send({ event: 'whisper', data: 'psst' });
    expectEqual(JSON.parse(await p.next()), { event: 'whispered', data: 'psst' }, 'the push');
    expectEqual(JSON.parse(await p.next()), 'sent', 'the answer');
  },
};

async function call(libs, argv) {
  const url = arg(argv, '--url', '');
  const impl = arg(argv, '--server-impl', 'nest12');
  let failed = 0;
  for (const [name, run] of Object.entries(scenarios)) {
    const p = new peer(libs.ws, url);
    try {
      await p.open();
      await run(p, impl);
      process.stdout.write(`PASS ${name}\n`);
    } catch (e) {
      ++failed;
      process.stdout.write(`FAIL ${name}: ${e.message}\n`);
    } finally {
      p.close();
    }
  }
  process.exit(failed ? 1 : 0);
}

export async function runWsMain(libs) {
  const argv = process.argv.slice(2);
  if (argv[0] === 'serve') return serve(libs, argv);
  if (argv[0] === 'call') return call(libs, argv);
  process.stderr.write('usage: ws-peer.mjs serve --url URL | call --url URL --server-impl IMPL\n');
  process.exit(2);
}

if (realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await import('reflect-metadata');
  await runWsMain(
    wsLibsFrom(
      await import('@nestjs/common'),
      await import('@nestjs/core'),
      await import('@nestjs/microservices'),
      await import('@nestjs/websockets'),
      await import('@nestjs/platform-ws'),
      await import('rxjs'),
      await import('ws'),
    ),
  );
}
