// The transport options of a benchmark URL, for a NestJS server or client:
//   tcp://HOST:PORT, redis://HOST:PORT, nats://HOST:PORT (no authentication, no TLS),
//   amqp://USER:PASSWORD@HOST:PORT/?queue=Q (NestJS's RMQ defaults otherwise, as roost's),
//   kafka://HOST:PORT/?groupId=G[&maxWaitTimeInMs=N&sessionTimeout=N&heartbeatInterval=N],
//   mqtt://HOST:PORT (MQTT 3.1.1, QoS 0: NestJS's defaults).
export function transportOptions(Transport, text) {
  const amqp = /^amqp:\/\/([^@/]+@)?([^:/]+):(\d+)\/?\?queue=([^&]+)$/.exec(text ?? '');
  if (amqp) {
    const [, auth, host, port, queue] = amqp;
    return { transport: Transport.RMQ, options: { urls: [`amqp://${auth ?? ''}${host}:${port}`], queue } };
  }
  const kafka = /^kafka:\/\/([^/?]+)\/?(?:\?(.*))?$/.exec(text ?? '');
  if (kafka) {
    // kafka://HOST:PORT/?groupId=G&maxWaitTimeInMs=N: the consumer options roost's URL takes too.
    const q = new URLSearchParams(kafka[2] ?? '');
    const consumer = { groupId: q.get('groupId') ?? 'nestjs-group' };
    for (const k of ['maxWaitTimeInMs', 'sessionTimeout', 'heartbeatInterval']) {
      if (q.has(k)) consumer[k] = Number(q.get(k));
    }
    return { transport: Transport.KAFKA, options: { client: { brokers: kafka[1].split(',') }, consumer } };
  }
  const mqtt = /^mqtt:\/\/([^:/]+):(\d+)\/?$/.exec(text ?? '');
  if (mqtt) return { transport: Transport.MQTT, options: { url: `mqtt://${mqtt[1]}:${mqtt[2]}` } };
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
