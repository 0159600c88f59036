// The `jwt` scenario (SCENARIOS.md) on the NestJS side: a guard as a NestJS application writes
// one, and the tokens a NestJS client sends. Tokens are RS256, signed and verified with
// jsonwebtoken (the library @nestjs/jwt's JwtService runs), with the keys run-suite.sh makes for
// the run (make-jwt-keys.sh) in the directory named by ROOST_INTEROP_JWT_KEYS.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// What the tokens say and what the servers ask of them; roost_peer uses the same.
export const ISSUER = 'roost-interop';
export const AUDIENCE = 'interop';
export const SUBJECT = 'ada';

// The key `name` (issuer.key, issuer.pub, forger.key) of the run, or null when the harness made
// none (a server then has no guarded route).
export function jwtKey(name) {
  const dir = process.env.ROOST_INTEROP_JWT_KEYS;
  return dir ? readFileSync(join(dir, name)) : null;
}

// The guarded route, `jwt.whoami.<run>`: of this run alone, so that no server of another run on
// the same broker (trusting other keys) answers.
export function jwtRoute() {
  return process.env.ROOST_INTEROP_JWT_ROUTE || null;
}

// The bearer token of a message: NATS headers (NatsContext.getHeaders(), a MsgHdrs), AMQP headers
// (RmqContext.getMessage().properties.headers), MQTT 5 user properties
// (MqttContext.getPacket().properties.userProperties), or NestJS 12's packet metadata on TCP and
// Redis (getMetadata(), a plain object).
function bearerToken(ctx) {
  const value = ctx.getHeaders
    ? ctx.getHeaders()?.get('authorization')
    : ctx.getChannelRef
      ? ctx.getMessage()?.properties?.headers?.authorization
      : ctx.getTopic
        ? ctx.getPacket()?.properties?.userProperties?.authorization
        : ctx.getMetadata?.()?.authorization;
  const m = /^Bearer +(\S+)$/i.exec(typeof value === 'string' ? value : '');
  return m ? m[1] : null;
}

// A guard instance for @UseGuards: lets a message through when its token verifies against
// `publicKey` (RS256 only, this issuer and audience, not expired), and keeps the claims for the
// handler in `claimsOf`, keyed by the message's RPC context (the object @Ctx() gives the handler).
// Refusing (false) makes NestJS answer `Forbidden resource`.
export function jwtGuard(jwt, publicKey, claimsOf) {
  return {
    canActivate(context) {
      const ctx = context.switchToRpc().getContext();
      const token = bearerToken(ctx);
      if (!token) return false;
      try {
        claimsOf.set(ctx, jwt.verify(token, publicKey, { algorithms: ['RS256'], issuer: ISSUER, audience: AUDIENCE }));
        return true;
      } catch {
        return false;
      }
    },
  };
}

// The tokens of the client scenario: claims as `overrides` changes them, signed RS256 with `key`.
export function signToken(jwt, key, overrides = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: SUBJECT, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...overrides };
  return jwt.sign(claims, key, { algorithm: 'RS256' });
}
