// The NestJS 11 WebSocket peer: the same gateway and scenarios as ../nest/ws-peer.mjs (which holds
// all the logic), run with @nestjs/* 11, rxjs, ws and reflect-metadata from
// tests/interop/nest11/node_modules (the specifiers resolve from this file).
import { runWsMain, wsLibsFrom } from '../nest/ws-peer.mjs';

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
