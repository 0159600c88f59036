// A real NestJS client (ClientProxyFactory: ClientTCP, ClientRedis or ClientNats, by --url)
// keeping K requests `sum [1,2,3]` in flight for a fixed time; prints the same JSON as the C++
// load generators. Every reply is checked, warm-up included: an error, a value other than 6, or
// a request not answered 5 s after the end is counted apart (never as served) and makes the run
// fail (exit 1, the first few reasons on stderr).
//   node.sh loadgen.mjs --url tcp://127.0.0.1:3000 [--inflight K] [--seconds S] [--warmup W]
import 'reflect-metadata';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { parseArgs, transportOptions } from './url.mjs';

const args = parseArgs(process.argv.slice(2));
const inflight = Number(args.inflight ?? 16);
const seconds = Number(args.seconds ?? 5);
const warmup = Number(args.warmup ?? 1);
const expected = 6;

const client = ClientProxyFactory.create(transportOptions(Transport, args.url));
await client.connect();
process.stdout.write("START\n"); // the warm-up begins: bench/lib.sh times its CPU samples from here
const start = performance.now();
const measureFrom = start + warmup * 1000;
const stop = measureFrom + seconds * 1000;
const latencies = [];
let completed = 0, errors = 0, wrong = 0, pending = 0, reported = 0;
const complain = (what) => {
  if (reported++ < 5) process.stderr.write(`loadgen.mjs: ${what}\n`);
};

function report(lost) {
  latencies.sort((a, b) => a - b);
  const pct = (p) => (latencies.length ? latencies[Math.floor((p / 100) * (latencies.length - 1))] : 0);
  console.log(JSON.stringify({
    inflight, connections: 1, seconds, requests: completed, errors, wrong, unknown: 0, lost,
    failed_connections: 0, rps: Math.round(completed / seconds), p50_us: Math.round(pct(50)),
    p99_us: Math.round(pct(99)), p999_us: Math.round(pct(99.9)),
  }));
  if (errors || wrong || lost || !completed) {
    process.stderr.write(`loadgen.mjs: FAILED: ${errors} error replies, ${wrong} wrong values, ` +
      `${lost} requests never answered, ${completed} served\n`);
    process.exit(1);
  }
  process.exit(0);
}
// A server that stops answering must not hang the run.
setTimeout(() => report(pending), stop - start + 5000).unref();

async function worker() {
  while (performance.now() < stop) {
    const sent = performance.now();
    let good = false;
    pending++;
    try {
      const value = await firstValueFrom(client.send('sum', [1, 2, 3]));
      if (value === expected) good = true;
      else {
        wrong++;
        complain(`a wrong value: ${JSON.stringify(value)}`);
      }
    } catch (e) {
      errors++;
      complain(`an error reply: ${JSON.stringify(e?.message ?? e)}`);
    }
    pending--;
    const now = performance.now();
    if (good && sent >= measureFrom && now < stop) {
      completed++;
      latencies.push((now - sent) * 1000);
    }
  }
}
await Promise.all(Array.from({ length: inflight }, worker));
await client.close();
report(0);
