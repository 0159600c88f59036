// The NestJS service of the gRPC benchmark (bench/grpc.sh): what a NestJS user writes for
// interop.Math/Sum of tests/interop/grpc/roost_test.proto, a controller with
// @GrpcMethod('Math', 'Sum'), started with NestFactory.createMicroservice on Transport.GRPC
// with NestJS's defaults (proto-loader's options unset). Plain JS has no decorator syntax, so
// the decorators are applied with Reflect.decorate, as TypeScript's compiled output does.
//   node.sh grpc-service.mjs --listen 127.0.0.1:PORT --proto FILE     prints READY <port>
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcMethod, Transport } from '@nestjs/microservices';

const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const listen = arg('--listen');
const proto = arg('--proto');
if (!listen || !proto) {
  console.error('grpc-service.mjs: --listen HOST:PORT and --proto FILE are required');
  process.exit(2);
}

class MathController {
  sum({ numbers = [] }) {
    return { total: numbers.reduce((a, b) => a + b, 0) };
  }
}
const proto_ = MathController.prototype;
const desc = Object.getOwnPropertyDescriptor(proto_, 'sum');
Object.defineProperty(proto_, 'sum', Reflect.decorate([GrpcMethod('Math', 'Sum')], proto_, 'sum', desc) ?? desc);
const Ctrl = Reflect.decorate([Controller()], MathController);
class AppModule {}
const Mod = Reflect.decorate([Module({ controllers: [Ctrl] })], AppModule);

const app = await NestFactory.createMicroservice(Mod, {
  transport: Transport.GRPC,
  options: { url: listen, package: 'interop', protoPath: proto },
  logger: ['error', 'warn'],
});
await app.listen();
const shutdown = async () => {
  await app.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdout.write(`READY ${listen.split(':').pop()}\n`);
