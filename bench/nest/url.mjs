// The transport options of a benchmark URL, for a NestJS server or client:
//   tcp://HOST:PORT, redis://HOST:PORT, nats://HOST:PORT (no authentication, no TLS),
//   amqp://USER:PASSWORD@HOST:PORT/?queue=Q (NestJS's RMQ defaults otherwise, as roost's).
export function transportOptions(Transport, text) {
  const amqp = /^amqp:\/\/([^@/]+@)?([^:/]+):(\d+)\/?\?queue=([^&]+)$/.exec(text ?? '');
  if (amqp) {
    const [, auth, host, port, queue] = amqp;
    return { transport: Transport.RMQ, options: { urls: [`amqp://${auth ?? ''}${host}:${port}`], queue } };
  }
  const m = /^(tcp|redis|nats):\/\/([^:/]+):(\d+)\/?$/.exec(text ?? '');
  if (!m) throw new Error(`unsupported URL ${text} (tcp|redis|nats://HOST:PORT, amqp://USER:PASSWORD@HOST:PORT/?queue=Q)`);
  const [, scheme, host, port] = m;
  if (scheme === 'tcp') return { transport: Transport.TCP, options: { host, port: Number(port) } };
  if (scheme === 'redis') return { transport: Transport.REDIS, options: { host, port: Number(port) } };
  return { transport: Transport.NATS, options: { servers: [`nats://${host}:${port}`] } };
}

// --name value pairs of the command line.
export function parseArgs(argv) {
  const out = {};
  for (let i = 0; i + 1 < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}
