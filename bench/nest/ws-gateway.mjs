// The NestJS gateway of the WebSocket benchmark (bench/ws.sh): what a NestJS user writes for the
// one message measured, a gateway with `sum` (@SubscribeMessage) on @nestjs/platform-ws, hosted
// by a microservice (its TCP side, on a free port, is unused: no HTTP platform is installed).
// Plain JS has no decorator syntax, so the decorators are applied with Reflect.decorate, as
// TypeScript's compiled output does.
//   node.sh ws-gateway.mjs --url ws://127.0.0.1:0/chat     prints READY <port>
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport } from '@nestjs/microservices';
import { WsAdapter } from '@nestjs/platform-ws';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { parseArgs } from './url.mjs';

const args = parseArgs(process.argv.slice(2));
const url = new URL(args.url);
let port = 0;
class MathGateway {
  afterInit(server) {
    // Port 0: the `ws` server picks one.
    server.on('listening', () => {
      port = server.address().port;
    });
    if (server.address()) port = server.address().port;
  }
  sum(client, data) {
    return data.reduce((a, b) => a + b, 0);
  }
}
const proto = MathGateway.prototype;
const desc = Object.getOwnPropertyDescriptor(proto, 'sum');
Object.defineProperty(proto, 'sum', Reflect.decorate([SubscribeMessage('sum')], proto, 'sum', desc) ?? desc);
const Gateway = Reflect.decorate([WebSocketGateway(Number(url.port), { path: url.pathname })], MathGateway);
class AppModule {}
const Mod = Reflect.decorate([Module({ providers: [Gateway] })], AppModule);

const app = await NestFactory.createMicroservice(Mod, {
  transport: Transport.TCP,
  options: { host: '127.0.0.1', port: 0 },
  logger: ['error', 'warn'],
});
app.useWebSocketAdapter(new WsAdapter());
await app.listen();
for (let i = 0; i < 500 && port === 0; ++i) await new Promise((r) => setTimeout(r, 10));
const shutdown = async () => {
  await app.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdout.write(`READY ${port}\n`);
