// The NestJS client side of the NATS benchmark: a real ClientNats (NestJS 12) keeping K
// requests `sum [1,2,3]` in flight for a fixed time; prints the same JSON as bench/nats_loadgen.
//   nats-nest-loadgen.sh --url nats://127.0.0.1:4222 [--inflight K] [--seconds S] [--warmup W]
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/interop/nest/package.json'));
await import(require.resolve('reflect-metadata'));
const { ClientProxyFactory, Transport } = await import(require.resolve('@nestjs/microservices'));
const { firstValueFrom } = await import(require.resolve('rxjs'));

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, v, i, a) => (i % 2 === 0 ? [...acc, [v.replace(/^--/, ''), a[i + 1]]] : acc), []));
const url = args.url ?? 'nats://127.0.0.1:4222';
const inflight = Number(args.inflight ?? 16);
const seconds = Number(args.seconds ?? 5);
const warmup = Number(args.warmup ?? 1);

const client = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [url] } });
await client.connect();
const start = performance.now();
const measureFrom = start + warmup * 1000;
const stop = measureFrom + seconds * 1000;
const latencies = [];
let completed = 0, errors = 0;

async function worker() {
  while (performance.now() < stop) {
    const sent = performance.now();
    let failed = false;
    try {
      await firstValueFrom(client.send('sum', [1, 2, 3]));
    } catch {
      failed = true;
    }
    const now = performance.now();
    if (sent >= measureFrom && now < stop) {
      completed++;
      if (failed) errors++;
      latencies.push((now - sent) * 1000);
    }
  }
}
await Promise.all(Array.from({ length: inflight }, worker));
await client.close();
latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? latencies[Math.floor((p / 100) * (latencies.length - 1))] : 0);
console.log(JSON.stringify({
  inflight, connections: 1, seconds, requests: completed, errors, failed_connections: 0,
  rps: Math.round(completed / seconds), p50_us: Math.round(pct(50)), p99_us: Math.round(pct(99)),
  p999_us: Math.round(pct(99.9)),
}));
process.exit(0);
