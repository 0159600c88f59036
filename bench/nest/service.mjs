// The NestJS service of the benchmarks: what a NestJS user writes for the one request measured,
// a controller with `sum` (and `slow`, for the long-tail point; `tally` and `tally.count`, the
// Kafka benchmark's counted events), started with
// NestFactory.createMicroservice on the transport of --url. It imports only what that needs;
// @nestjs/microservices itself loads the broker's client library (ioredis, @nats-io/*) for
// that transport alone. Plain JS has no decorator syntax, so the decorators are applied with
// Reflect.decorate, as TypeScript's compiled output does.
//   node.sh service.mjs --url tcp://127.0.0.1:0     prints READY <port> (0 for the brokers)
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Transport } from '@nestjs/microservices';
import { parseArgs, transportOptions } from './url.mjs';

class MathController {
  sum(data) {
    return data.reduce((a, b) => a + b, 0);
  }
  async slow(ms) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  }
  // The events of the Kafka benchmark, counted (bench/kafka_loadgen --mode emit).
  tally() {
    tallied += 1;
  }
  tallyCount() {
    return tallied;
  }
}
let tallied = 0;
for (const [key, pattern, decorator] of [
  ['sum', 'sum', MessagePattern],
  ['slow', 'slow', MessagePattern],
  ['tally', 'tally', EventPattern],
  ['tallyCount', 'tally.count', MessagePattern],
]) {
  const proto = MathController.prototype;
  const desc = Object.getOwnPropertyDescriptor(proto, key);
  Object.defineProperty(proto, key, Reflect.decorate([decorator(pattern)], proto, key, desc) ?? desc);
}
const Ctrl = Reflect.decorate([Controller()], MathController);
class AppModule {}
const Mod = Reflect.decorate([Module({ controllers: [Ctrl] })], AppModule);

const args = parseArgs(process.argv.slice(2));
const t = transportOptions(Transport, args.url);
const app = await NestFactory.createMicroservice(Mod, { ...t, logger: ['error', 'warn'] });
await app.listen();
const shutdown = async () => {
  await app.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// The TCP server's real port when it was 0 (the brokers' transports have none of their own).
const port = t.transport === Transport.TCP ? app.unwrap().address().port : 0;
process.stdout.write(`READY ${port}\n`);
