// The NestJS 11 reference peer: the same handlers and scenarios as ../nest/peer.mjs (which holds all
// the logic), run with @nestjs/* 11, rxjs and reflect-metadata from tests/interop/nest11/node_modules.
//   node peer.mjs serve --url tcp://HOST:PORT
//   node peer.mjs call  --url tcp://HOST:PORT --scenario NAME
// The packages are imported dynamically (the specifiers resolve from this file, so from
// nest11/node_modules) after ../nest/peer.mjs has installed its early SIGTERM handler: static
// imports of CommonJS packages would run before it.
import { libsFrom, runMain } from '../nest/peer.mjs';

await import('reflect-metadata');
await runMain(
  libsFrom(
    await import('@nestjs/common'),
    await import('@nestjs/core'),
    await import('@nestjs/microservices'),
    await import('rxjs'),
    await import('nats'),
    'nest11',
    await import('jsonwebtoken'),
  ),
);
