// @grpc/grpc-js calls a roost gRPC server's standard health service (grpc.health.v1.Health),
// with the health.proto of the protocol, written here: Check of the whole server and of a
// served service, NOT_FOUND for another, and Watch's first status.
//   node grpc-health.mjs HOST:PORT SERVED_SERVICE
// Prints one line per check and exits 1 if any failed.
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [address, served] = process.argv.slice(2);
const proto = `syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
`;
const dir = mkdtempSync(join(tmpdir(), 'grpc-health-'));
writeFileSync(join(dir, 'health.proto'), proto);
const def = protoLoader.loadSync(join(dir, 'health.proto'), { enums: String });
rmSync(dir, { recursive: true });
const { Health } = grpc.loadPackageDefinition(def).grpc.health.v1;
const client = new Health(address, grpc.credentials.createInsecure());
const deadline = () => Date.now() + 10000;

const check = (service) =>
  new Promise((resolve) =>
    client.Check({ service }, { deadline: deadline() }, (err, reply) =>
      resolve(err ? `code ${err.code}` : reply.status)));
const watchFirst = (service) =>
  new Promise((resolve) => {
    const call = client.Watch({ service }, { deadline: deadline() });
    call.on('data', (reply) => { resolve(reply.status); call.cancel(); });
    call.on('error', (err) => resolve(`code ${err.code}`));
  });

let failed = 0;
const expect = (what, got, want) => {
  const ok = got === want;
  if (!ok) failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${what}: ${got}${ok ? '' : ` (want ${want})`}`);
};
expect('Check ""', await check(''), 'SERVING');
expect(`Check ${served}`, await check(served), 'SERVING');
expect('Check an unknown service', await check('no.Such'), `code ${grpc.status.NOT_FOUND}`);
expect(`Watch ${served}`, await watchFirst(served), 'SERVING');
client.close();
process.exit(failed ? 1 : 0);
