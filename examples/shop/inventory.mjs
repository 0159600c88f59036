// The shop's inventory: a NestJS microservice on RabbitMQ (plain JavaScript, no build step).
// It reserves and releases goods for the orders' saga, and answers what is in stock.
//
//   node inventory.mjs NEST_DIR     (NEST_DIR: a directory whose node_modules hold NestJS 12's
//                                    @nestjs/common, core and microservices, and reflect-metadata)
//   SHOP_NS (default "shop"), SHOP_RABBITMQ (default amqp://guest:guest@127.0.0.1:16672),
//   SHOP_TRANSIENT=1 for a queue deleted with its last consumer
//   prints "READY inventory" once it listens; exits 0 on SIGTERM.
//
// Each message of a saga step carries the header x-roost-idempotency-key (an AMQP header on
// RabbitMQ); a repeat (a step sent again after the orchestrator restarted) gets the first reply
// and changes nothing. The stock and the keys live in memory: a restart of this process starts
// afresh (a real service keeps them in its database, in one transaction).

import { createRequire } from 'node:module';
import { join, resolve as absolute } from 'node:path';
import { pathToFileURL } from 'node:url';

const nestDir = process.argv[2];
if (!nestDir) {
  process.stderr.write('usage: node inventory.mjs NEST_DIR\n');
  process.exit(2);
}
const ns = process.env.SHOP_NS || 'shop';
const amqp = process.env.SHOP_RABBITMQ || 'amqp://guest:guest@127.0.0.1:16672';

let app = null;
const stop = async () => {
  await app?.close().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const resolve = createRequire(join(absolute(nestDir), 'package.json')).resolve;
const load = async (name) => {
  const m = await import(pathToFileURL(resolve(name)).href);
  return { ...(m.default && typeof m.default === 'object' ? m.default : {}), ...m };
};
await load('reflect-metadata');
const { Controller, Module } = await load('@nestjs/common');
const { NestFactory } = await load('@nestjs/core');
const { Transport, MessagePattern, RpcException, Payload, Ctx } = await load('@nestjs/microservices');

const stock = new Map([
  ['book', 10],
  ['pen', 100],
  ['lamp', 2],
]);
const reservations = new Map(); // order -> { item, qty }
const replies = new Map(); // idempotency key -> { reply } or { refusal }

// Runs `effect` once per idempotency key; a repeat gets the first reply (or refusal) again.
function once(ctx, effect) {
  const key = ctx.getMessage().properties.headers?.['x-roost-idempotency-key'];
  const seen = key && replies.get(key);
  if (seen) {
    if (seen.refusal) throw new RpcException(seen.refusal);
    return seen.reply;
  }
  try {
    const reply = effect();
    if (key) replies.set(key, { reply });
    return reply;
  } catch (err) {
    if (key && err instanceof RpcException) replies.set(key, { refusal: err.getError() });
    throw err;
  }
}

class Inventory {
  reserve({ order, item, qty }, ctx) {
    return once(ctx, () => {
      const have = stock.get(item) ?? 0;
      if (have < qty) throw new RpcException(`out of stock: ${qty} ${item} asked, ${have} left`);
      stock.set(item, have - qty);
      reservations.set(order, { item, qty });
      console.log(`inventory: reserved ${qty} ${item} for ${order}`);
      return { reserved: qty, item };
    });
  }
  // Releases what the order holds; nothing held (the reservation never happened) is fine.
  release({ order }, ctx) {
    return once(ctx, () => {
      const r = reservations.get(order);
      if (!r) return 'nothing to release';
      stock.set(r.item, (stock.get(r.item) ?? 0) + r.qty);
      reservations.delete(order);
      console.log(`inventory: released ${r.qty} ${r.item} of ${order}`);
      return 'released';
    });
  }
  stock() {
    return { stock: Object.fromEntries(stock), reservations: Object.fromEntries(reservations) };
  }
}

const param = (index, decorator) => (target, key) => decorator(target, key, index);
for (const [key, pattern] of [
  ['reserve', 'inventory.reserve'],
  ['release', 'inventory.release'],
  ['stock', 'inventory.stock'],
]) {
  const proto = Inventory.prototype;
  const desc = Object.getOwnPropertyDescriptor(proto, key);
  const decorators = [MessagePattern(`${ns}.${pattern}`), param(0, Payload()), param(1, Ctx())];
  Object.defineProperty(proto, key, Reflect.decorate(decorators, proto, key, desc) ?? desc);
}
const Controlled = Reflect.decorate([Controller()], Inventory);
class InventoryModule {}
const AppModule = Reflect.decorate([Module({ controllers: [Controlled] })], InventoryModule);

const quiet = { log() {}, debug() {}, verbose() {}, warn: console.error, error: console.error, fatal: console.error };
app = await NestFactory.createMicroservice(AppModule, {
  transport: Transport.RMQ,
  // SHOP_TRANSIENT=1 (the test, make shop): a queue that goes with its last consumer, so that
  // runs leave nothing behind in the broker; the callers' URLs then say the same.
  options: {
    urls: [amqp],
    queue: `${ns}-inventory`,
    queueOptions: process.env.SHOP_TRANSIENT === '1' ? { durable: false, autoDelete: true } : {},
  },
  logger: quiet,
});
await app.listen();
console.log('READY inventory');
