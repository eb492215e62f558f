#!/usr/bin/env node
// The local cluster's demo registry: a read-only Docker Registry (HTTP API v2) on 127.0.0.1 that
// serves demo/app:1 (a busybox image) only to the user "demo" with the password in PASSWORD_FILE,
// so `flotilla login` and a pull with credentials can be tried against the local cluster.
//
//   node tools/registry/serve.js PORT PASSWORD_FILE
//
// Docker treats registries on 127.0.0.0/8 as insecure, so the engines pull from it over HTTP.
'use strict';
const fs = require('node:fs');
const { busyboxRootfsTar, startTestRegistry } = require('../../libs/testing/dist');

async function main() {
  const [port, passwordFile] = process.argv.slice(2);
  if (!/^\d+$/.test(port ?? '') || !passwordFile) {
    console.error('usage: node tools/registry/serve.js PORT PASSWORD_FILE');
    process.exit(2);
  }
  const password = fs.readFileSync(passwordFile, 'utf8').trim();
  const registry = await startTestRegistry([{ repository: 'demo/app', tag: '1', rootfsTar: busyboxRootfsTar(), cmd: ['echo', 'hello from the demo registry'] }], {
    auth: { username: 'demo', password },
    port: Number(port),
  });
  console.log(JSON.stringify({ msg: 'listening', registry: registry.host, image: registry.reference('demo/app', '1') }));
  const stop = () => void registry.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(`registry: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
