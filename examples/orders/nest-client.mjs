// A NestJS 12 client of the orders service (service.cpp): it sends its token as packet metadata,
// `authorization: Bearer <token>`, which the service's jwt_guard reads as the message's headers.
//   npm install                    (this directory's package.json: NestJS 12, jsonwebtoken)
//   ORDERS_JWT_SECRET=... node nest-client.mjs [port]     (default 3000)
// The token is made here as a NestJS service would make it with @nestjs/jwt's JwtService (which
// runs jsonwebtoken): HS256 with the service's secret, for the audience "orders"; in production it
// comes from your identity provider. Prints each call and what it got, one per line.

import 'reflect-metadata';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import jwt from 'jsonwebtoken';
import { lastValueFrom } from 'rxjs';

const secret = process.env.ORDERS_JWT_SECRET;
if (!secret) {
  console.error('ORDERS_JWT_SECRET is not set');
  process.exit(2);
}
const port = Number(process.argv[2] ?? 3000);
const token = (claims) => jwt.sign(claims, secret, { algorithm: 'HS256', audience: 'orders', expiresIn: '5m' });

const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
// Every packet this client sends carries the current token (NestJS 12: packet.metadata).
let bearer;
client.setOnDispatchHook((packet) => {
  if (bearer) packet.metadata = { authorization: `Bearer ${bearer}` };
});

async function call(pattern, data) {
  try {
    console.log(`${pattern} -> ${JSON.stringify(await lastValueFrom(client.send(pattern, data)))}`);
  } catch (err) {
    console.log(`${pattern} -> error ${JSON.stringify(err)}`);
  }
}

bearer = token({ sub: 'ada', scope: 'orders:read orders:write' });
await call('orders.whoami', {});
await call('orders.place', { item: 'book', quantity: 2 });
await call('orders.place', { item: '', quantity: 0 }); // refused by the schema, both fields named

bearer = token({ sub: 'bob', scope: 'orders:read' }); // no orders:write: may ask, may not place
await call('orders.whoami', {});
await call('orders.place', { item: 'book', quantity: 1 });

bearer = undefined; // no token at all
await call('orders.whoami', {});

client.close();
