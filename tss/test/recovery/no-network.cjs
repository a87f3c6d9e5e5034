/**
 * Test preload (node --require): makes every network API throw and records each attempt, one line
 * per attempt, to the file named by CONCORD_NET_LOG. Used to prove the recovery CLI is offline
 * (THREATS D74). Patches the CommonJS builtins, then syncs their ESM named exports.
 */
const fs = require('node:fs');
const log = process.env.CONCORD_NET_LOG;

/** Name the target: a Unix-socket path (local IPC, e.g. tsx's loader calling its parent) or a host/port. */
function target(args) {
  const a = args[0];
  if (typeof a === 'string' && !/^\d+$/.test(a) && !/^[a-z]+:/i.test(a)) return ` unix:${a}`;
  if (a && typeof a === 'object' && typeof a.path === 'string') return ` unix:${a.path}`;
  return '';
}

function blocked(what) {
  return function blockedNetworkCall(...args) {
    const line = `${what}${what.startsWith('net.') ? target(args) : ''}`;
    if (log) fs.appendFileSync(log, `${line}\n`);
    throw new Error(`network access is disabled in this test (${line})`);
  };
}

const net = require('node:net');
net.connect = blocked('net.connect');
net.createConnection = blocked('net.createConnection');
net.Socket.prototype.connect = blocked('net.Socket.connect');
const tls = require('node:tls');
tls.connect = blocked('tls.connect');
const dns = require('node:dns');
for (const k of [
  'lookup',
  'lookupService',
  'resolve',
  'resolve4',
  'resolve6',
  'resolveAny',
  'resolveTxt',
  'resolveSrv',
]) {
  dns[k] = blocked(`dns.${k}`);
  if (dns.promises[k]) dns.promises[k] = blocked(`dns.promises.${k}`);
}
for (const mod of ['http', 'https']) {
  const m = require(`node:${mod}`);
  m.request = blocked(`${mod}.request`);
  m.get = blocked(`${mod}.get`);
}
require('node:http2').connect = blocked('http2.connect');
require('node:dgram').createSocket = blocked('dgram.createSocket');
globalThis.fetch = blocked('fetch');
globalThis.WebSocket = class {
  constructor() {
    blocked('WebSocket')();
  }
};
require('node:module').syncBuiltinESMExports();
