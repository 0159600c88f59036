// The NestJS service of the benchmarks: what a NestJS user writes for the one request measured,
// a controller with `sum` (and `slow`, for the long-tail point), started with
// NestFactory.createMicroservice on the transport of --url. It imports only what that needs;
// @nestjs/microservices itself loads the broker's client library (ioredis, @nats-io/*) for
// that transport alone. Plain JS has no decorator syntax, so the decorators are applied with
// Reflect.decorate, as TypeScript's compiled output does.
//   node.sh service.mjs --url tcp://127.0.0.1:0     prints READY <port> (0 for the brokers)
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Transport } from '@nestjs/microservices';
import { parseArgs, transportOptions } from './url.mjs';

class MathController {
  sum(data) {
    return data.reduce((a, b) => a + b, 0);
  }
  async slow(ms) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  }
}
for (const [key, pattern] of [['sum', 'sum'], ['slow', 'slow']]) {
  const proto = MathController.prototype;
  const desc = Object.getOwnPropertyDescriptor(proto, key);
  Object.defineProperty(proto, key, Reflect.decorate([MessagePattern(pattern)], proto, key, desc) ?? desc);
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
