// How the NestJS peer reaches each transport: from a roost-style URL (the same one roost_peer
// takes) to NestJS's microservice and client options. One entry per URL scheme.
//   name:    what the `ctx` handler reports as the transport
//   server:  options for NestFactory.createMicroservice
//   client:  options for ClientProxyFactory.create
//   ready:   what follows READY once the server listens (the bound port for TCP)
//   query:   the URL's query (URLSearchParams), for the peer's second-configuration scenarios

import { readFileSync } from 'node:fs';

function parse(text) {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(text ?? '');
  if (!m) return null;
  // WHATWG URL parses custom schemes without a host; borrow http's rules for the authority.
  let u = null;
  try {
    u = new URL(`http://${m[2]}`);
  } catch {
    // a list of hosts (nats://a:4222,b:4222): the transport parses `raw` itself
  }
  return { scheme: m[1].toLowerCase(), url: u, raw: m[2] };
}

// tcp://host:port[?maxBufferSize=N], and tls://host:port?ca=FILE&cert=FILE&key=FILE for TLS (roost's
// URL form, server/tls.cpp's parameters): NestJS's `tlsOptions`. A server given `ca` asks for and
// verifies client certificates, as roost's does (verify=false turns verification off).
const tcp = (ms, { scheme, url }) => {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || 3000);
  const q = url.searchParams;
  const options = { host, port };
  if (q.has('maxBufferSize')) options.maxBufferSize = Number(q.get('maxBufferSize'));
  const server = { ...options };
  const client = { ...options };
  if (scheme === 'tls' || ['ca', 'cert', 'key', 'verify'].some((k) => q.has(k))) {
    const tls = redisTls(q);
    server.tlsOptions = { ...tls };
    if (tls.ca && q.get('verify') !== 'false') {
      server.tlsOptions.requestCert = true;
      server.tlsOptions.rejectUnauthorized = true;
    }
    client.tlsOptions = tls;
  }
  return {
    name: 'tcp',
    server: { transport: ms.Transport.TCP, options: server },
    client: { transport: ms.Transport.TCP, options: client },
    ready: (app) => app.unwrap().address().port, // the net.Server: the real port when PORT was 0
    query: q,
  };
};

// nats://[user:pass@]host[:port][,host[:port]...][/?queue=Q&token=T] (roost's URL form).
// The authority may list several servers, which WHATWG URL cannot parse: split it by hand.
const nats = (ms, { scheme, raw }) => {
  const m = /^(?:([^@/?]*)@)?([^/?]*)(?:\/[^?]*)?(?:\?(.*))?$/.exec(raw);
  const params = new URLSearchParams(m?.[3] ?? '');
  const tls = scheme === 'nats+tls';
  const servers = (m?.[2] ?? '')
    .split(',')
    .filter(Boolean)
    .map((hp) => `${tls ? 'tls' : 'nats'}://${/:\d+$/.test(hp) ? hp : `${hp}:4222`}`);
  const options = { servers };
  if (m?.[1]) {
    const [user, pass] = m[1].split(':').map(decodeURIComponent);
    options.user = user;
    if (pass !== undefined) options.pass = pass;
  }
  if (params.get('token')) options.token = params.get('token');
  const server = { ...options };
  if (params.get('queue')) server.queue = params.get('queue');
  return {
    name: 'nats',
    server: { transport: ms.Transport.NATS, options: server },
    client: { transport: ms.Transport.NATS, options },
    ready: () => 0,
    query: params,
  };
};


// ioredis's `tls` (Node's tls.connect options) from roost's TLS parameters: ca, cert and key are
// PEM files; servername is the SNI name and the name checked in the certificate (the host when
// absent, which Node checks against the certificate's IP addresses when it is one); verify=false
// trusts any certificate. Without `ca` Node trusts its default roots, as roost trusts the system's.
function redisTls(q) {
  const tls = {};
  for (const k of ['ca', 'cert', 'key']) if (q.get(k)) tls[k] = readFileSync(q.get(k));
  if (q.get('servername')) tls.servername = q.get('servername');
  if (q.get('verify') === 'false') tls.rejectUnauthorized = false;
  return tls;
}

// redis://[user:password@]host:port[/db][?wildcards=true&retryAttempts=N&retryDelay=MS], and
// rediss:// for TLS (?ca=FILE&cert=FILE&key=FILE&servername=NAME&verify=false): the same URL roost
// reads, mapped onto ioredis's options as NestJS passes them.
const redis = (ms, { scheme, url }) => {
  const options = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port || 6379),
  };
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  const db = url.pathname.replace(/^\//, '');
  if (db) options.db = Number(db);
  const q = url.searchParams;
  // TLS as roost reads it: rediss://, or any of its TLS parameters on redis://.
  if (scheme === 'rediss' || ['ca', 'cert', 'key', 'verify'].some((k) => q.has(k))) {
    options.tls = redisTls(q);
  }
  if (q.has('retryAttempts')) options.retryAttempts = Number(q.get('retryAttempts'));
  if (q.has('retryDelay')) options.retryDelay = Number(q.get('retryDelay'));
  const server = { ...options };
  if (q.get('wildcards') === 'true') server.wildcards = true;
  return {
    name: 'redis',
    server: { transport: ms.Transport.REDIS, options: server },
    client: { transport: ms.Transport.REDIS, options },
    ready: () => 0, // no port of its own: both peers meet at the broker
    query: q,
  };
};


// amqp://[user:password@]host[:port][/vhost][?queue=Q&durable=false&noAck=false&prefetchCount=N
// &noAssert=true&persistent=true&wildcards=true&exchange=E&exchangeType=T&routingKey=K]: the same
// URL roost reads (NestJS's option names, queueOptions
// flattened), mapped onto NestJS's RMQ options. amqps:// (or a TLS parameter, as roost reads
// them: ?ca=FILE&cert=FILE&key=FILE&servername=NAME&verify=false) is AMQP over TLS: amqplib's
// TLS options are Node's tls.connect ones, in NestJS's socketOptions.connectionOptions.
const rmq = (ms, { url }) => {
  const q = url.searchParams;
  const auth = url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  const vhost = url.pathname.replace(/^\//, '');
  const tls = url.protocol === 'amqps:' || ['ca', 'cert', 'key', 'verify'].some((k) => q.has(k));
  const options = {
    urls: [`${tls ? 'amqps' : 'amqp'}://${auth}${url.host}${vhost ? `/${vhost}` : ''}`],
    queue: q.get('queue') ?? '',
  };
  if (tls) options.socketOptions = { connectionOptions: redisTls(q) };
  const flag = (k) => q.get(k) !== 'false' && q.get(k) !== '0';
  const queueOptions = {};
  if (q.has('durable')) queueOptions.durable = flag('durable');
  if (q.has('exclusive')) queueOptions.exclusive = flag('exclusive');
  if (q.has('autoDelete')) queueOptions.autoDelete = flag('autoDelete');
  options.queueOptions = queueOptions;
  if (q.has('noAssert')) options.noAssert = flag('noAssert');
  if (q.has('wildcards')) options.wildcards = flag('wildcards');
  for (const k of ['exchange', 'exchangeType', 'routingKey']) if (q.get(k)) options[k] = q.get(k);
  const server = { ...options };
  if (q.has('noAck')) server.noAck = flag('noAck');
  if (q.has('prefetchCount')) server.prefetchCount = Number(q.get('prefetchCount'));
  const client = { ...options };
  if (q.has('persistent')) client.persistent = flag('persistent');
  return {
    name: 'rmq',
    server: { transport: ms.Transport.RMQ, options: server },
    client: { transport: ms.Transport.RMQ, options: client },
    ready: () => 0, // no port of its own: both peers meet at the broker
    query: q,
  };
};

// mqtt://[user:password@]host[:port][/?protocolVersion=5&clientId=ID&qos=N&keepalive=S&clean=false
// &reconnectPeriod=MS&userProperties.K=V]: the same URL roost reads (NestJS's MQTT option names;
// the server's `qos` is its subscribeOptions'), mapped onto NestJS's MQTT options. mqtts:// (or a
// TLS parameter, as roost reads them: ?ca=FILE&cert=FILE&key=FILE&servername=NAME&verify=false) is
// MQTT over TLS: the mqtt package takes Node's tls.connect options among its own.
const mqtt = (ms, { url }) => {
  const q = url.searchParams;
  const tls = url.protocol === 'mqtts:' || ['ca', 'cert', 'key', 'verify'].some((k) => q.has(k));
  const options = { url: `${tls ? 'mqtts' : 'mqtt'}://${url.host}` };
  if (tls) Object.assign(options, redisTls(q));
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  for (const k of ['username', 'password', 'clientId']) if (q.get(k)) options[k] = q.get(k);
  for (const k of ['protocolVersion', 'keepalive', 'reconnectPeriod', 'connectTimeout']) {
    if (q.has(k)) options[k] = Number(q.get(k));
  }
  if (q.has('clean')) options.clean = q.get('clean') !== 'false' && q.get('clean') !== '0';
  const server = { ...options };
  if (q.has('qos')) server.subscribeOptions = { qos: Number(q.get('qos')) };
  const client = { ...options };
  const userProperties = {};
  for (const [k, v] of q) if (k.startsWith('userProperties.')) userProperties[k.slice(15)] = v;
  if (Object.keys(userProperties).length) client.userProperties = userProperties;
  return {
    name: 'mqtt',
    server: { transport: ms.Transport.MQTT, options: server },
    client: { transport: ms.Transport.MQTT, options: client },
    ready: () => 0, // no port of its own: both peers meet at the broker
    query: q,
  };
};

// kafka://host:port[,host:port...][/?clientId=C&groupId=G&postfixId=P&sessionTimeout=MS
// &heartbeatInterval=MS&maxWaitTimeInMs=MS&fromBeginning=true]: the same URL roost reads (NestJS's
// option names, the nested client/consumer/subscribe options flattened), onto NestJS's Kafka
// options. A client reads the reply topics of `replyPatterns` (subscribeToResponseOf), which the
// peer sets before it connects.
const kafka = (ms, { raw }) => {
  const m = /^([^/?]*)(?:\/[^?]*)?(?:\?(.*))?$/.exec(raw);
  const q = new URLSearchParams(m?.[2] ?? '');
  const brokers = (m?.[1] ?? '')
    .split(',')
    .filter(Boolean)
    .map((hp) => (/:\d+$/.test(hp) ? hp : `${hp}:9092`));
  const client = { brokers, logLevel: 1 /* kafkajs's ERROR */ };
  if (q.get('clientId')) client.clientId = q.get('clientId');
  const consumer = {};
  if (q.get('groupId')) consumer.groupId = q.get('groupId');
  for (const k of ['sessionTimeout', 'heartbeatInterval', 'maxWaitTimeInMs']) {
    if (q.has(k)) consumer[k] = Number(q.get(k));
  }
  const options = { client, consumer };
  if (q.has('postfixId')) options.postfixId = q.get('postfixId');
  const server = { ...options };
  if (q.get('fromBeginning') === 'true') server.subscribe = { fromBeginning: true };
  return {
    name: 'kafka',
    server: { transport: ms.Transport.KAFKA, options: server },
    client: { transport: ms.Transport.KAFKA, options },
    ready: () => 0, // no port of its own: both peers meet at the broker
    query: q,
  };
};

// grpc://host:port/?package=P&protoPath=FILE (each repeatable): roost's URL, onto NestJS's gRPC
// options (`url`, `package`, `protoPath`, `loader.includeDirs`), with proto-loader's defaults.
const grpc = (ms, { url }) => {
  const q = url.searchParams;
  const options = { url: `${url.hostname}:${url.port || 5000}` };
  const packages = q.getAll('package');
  const protos = q.getAll('protoPath');
  options.package = packages.length === 1 ? packages[0] : packages;
  options.protoPath = protos.length === 1 ? protos[0] : protos;
  if (q.has('includeDirs')) options.loader = { includeDirs: q.getAll('includeDirs') };
  return {
    name: 'grpc',
    server: { transport: ms.Transport.GRPC, options },
    client: { transport: ms.Transport.GRPC, options },
    ready: () => Number(url.port || 5000), // a port given by the harness (NestJS does not tell the bound one)
    query: q,
  };
};

const schemes = { tcp, tls: tcp, nats, 'nats+tls': nats, redis, rediss: redis, amqp: rmq, amqps: rmq, mqtt, mqtts: mqtt, kafka, grpc };

// The transport for `text`, or a string saying why there is none.
export function transportFor(ms, text) {
  const p = parse(text);
  if (!p) return `bad or missing --url ${text ?? ''}`;
  const make = schemes[p.scheme];
  if (!make) return `no NestJS transport for ${p.scheme}:// (known: ${Object.keys(schemes).join(', ')})`;
  return make(ms, p);
}
