// The least a Node.js process can do to make one gRPC call over mutual TLS: node:http2 and node:fs
// only (no gRPC library, no CLI), one GetInfo with an empty request, from FLOTILLA_MANAGER and
// FLOTILLA_TLS_CA/CERT/KEY. B8 (cli-startup.ts) runs it as a process of its own beside the CLI, so
// the CLI's start-up is seen next to what any Node.js client pays for its first call.
//
//   FLOTILLA_MANAGER=127.0.0.1:4240 FLOTILLA_TLS_CA=... node tools/bench/dist/grpc-call-floor.js
import * as fs from 'node:fs';
import * as http2 from 'node:http2';

const need = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const session = http2.connect(`https://${need('FLOTILLA_MANAGER')}`, {
  ca: fs.readFileSync(need('FLOTILLA_TLS_CA')),
  cert: fs.readFileSync(need('FLOTILLA_TLS_CERT')),
  key: fs.readFileSync(need('FLOTILLA_TLS_KEY')),
});
session.on('error', (err) => {
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 1;
});
const call = session.request({ ':method': 'POST', ':path': '/flotilla.cluster.v1.ClusterService/GetInfo', 'content-type': 'application/grpc', te: 'trailers' });
// One gRPC message: not compressed, length 0 (an empty GetInfoRequest).
call.end(Buffer.alloc(5));
let bytes = 0;
call.on('data', (chunk: Buffer) => (bytes += chunk.length));
call.on('trailers', (trailers) => {
  if (trailers['grpc-status'] !== '0' || bytes === 0) {
    process.stderr.write(`GetInfo failed: grpc-status ${String(trailers['grpc-status'])} ${String(trailers['grpc-message'] ?? '')}\n`);
    process.exitCode = 1;
  }
});
call.on('close', () => session.close());
