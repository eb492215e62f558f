// B8: how long the `flotilla` CLI takes to start, next to `node -e 0`: the issue-13 goal is that any
// command's own overhead (its wall time minus the API calls it makes) stays within 1.5× of
// `node -e 0` on the same machine.
//
// Every round runs, in a shuffled order so that the machine's load falls on all alike: `node -e 0`,
// `flotilla --version`, `flotilla --help`, `flotilla version`, `flotilla ps` and `flotilla info`
// (the last three against a real manager with a real Docker engine behind it, over mutual TLS),
// each as its own process (spawnSync, stdout and stderr piped), timed from just before the spawn to
// its exit. Right after each command that calls the API, the bench makes the same call(s) from its
// own warm client (one channel, connected before the first round): `version` GetInfo; `ps`
// ListContainers and ListEngines at once; `info` GetInfo and ListEngines at once, as the commands
// do. Overhead = the command's time − that call time, per pair. What remains is the CLI's own cost:
// node's start, loading and compiling its code, reading its settings, the TCP+TLS connection and
// printing.
//
// The floor row runs grpc-call-floor.js (one GetInfo over mutual TLS with node:http2 alone, no gRPC
// library): what any Node.js client pays for its first call, so the CLI's own share is seen apart.
//
// `--baseline FILE` runs a second CLI build (e.g. a copy of apps/cli/deploy from before a change) in
// the same rounds, so a before/after comparison shares the machine's load.
//
//   node tools/bench/dist/cli-startup.js [--runs 50] [--baseline /tmp/cli-before/main.js] [--no-results]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { call } from '@flotilla/grpc';
import { ContainerSpec, EngineStatus, ListContainersRequest, ListEnginesRequest, type ClusterServiceClient } from '@flotilla/proto/cluster';
import { allEngines, deployedScript, freePort, makeTempDir, removeTempDir, repoRoot, startEngines, startNodeService, testTls, waitFor } from '@flotilla/testing';
import { fmt, goalTable, log, now, parseArgs, report, runMain, startManagerProcess, summarize, table, type Row, type Summary } from './common';

const usage = 'node tools/bench/dist/cli-startup.js [--runs N] [--warmup N] [--containers N] [--cli FILE] [--baseline FILE] [--no-results]';

/** The API call(s) a command makes, from the bench's warm client, as the command makes them. */
type ApiCall = (m: ClusterServiceClient) => Promise<unknown>;

const getInfo: ApiCall = (m) => call(m, m.getInfo, {});
const listEngines: ApiCall = (m) => call(m, m.listEngines, ListEnginesRequest.fromPartial({ pageSize: 1000 }));
const listContainers: ApiCall = (m) => call(m, m.listContainers, ListContainersRequest.fromPartial({ pageSize: 1000 }));

interface Case {
  /** The row's name, e.g. "flotilla ps". */
  name: string;
  /** argv after the script; undefined for `node -e 0`. */
  args?: string[];
  /** What it asks of the manager, measured from the bench's warm client right after the command. */
  api?: ApiCall;
  apiWhat?: string;
  /** Extra environment. */
  env?: Record<string, string>;
  /** A script run instead of the CLI (the floor), with `args`. */
  script?: string;
}

interface Samples {
  wall: number[];
  api: number[];
  /** wall − api, per pair. */
  overhead: number[];
}

function spawnTimed(argv: string[], env: NodeJS.ProcessEnv, expectCode: number): number {
  const t = now();
  const r = spawnSync(process.execPath, argv, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024, timeout: 60_000 });
  const ms = now() - t;
  if (r.error) throw r.error;
  if (r.status !== expectCode) throw new Error(`${argv.slice(1).join(' ')} exited ${r.status} (expected ${expectCode}); stderr: ${r.stderr.slice(0, 500)}`);
  return ms;
}

/** Fisher–Yates with a small LCG, so a run's order can be reproduced. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

runMain(async () => {
  const args = parseArgs({ runs: 50, warmup: 3, containers: 3, cli: '', baseline: '', 'no-results': false }, undefined, usage);
  const cli = args.cli ? path.resolve(args.cli) : deployedScript('apps/cli/dist/main.js');
  const baseline = args.baseline ? path.resolve(args.baseline) : '';
  for (const f of [cli, baseline].filter(Boolean)) if (!fs.existsSync(f)) throw new Error(`${f} not found (build first: npx nx run-many -t build)`);

  log('starting 1 real Docker engine, its agent and a manager (separate processes)');
  const engines = await startEngines({ count: 1 });
  const engine = engines.engines[0];
  const port = await freePort();
  await startNodeService({ name: 'agent', script: 'apps/engine-agent/dist/main.js', args: ['--docker-host', engine.dockerHost, '--listen', `127.0.0.1:${port}`] });
  const manager = await startManagerProcess(['--engine', `127.0.0.1:${port}`]);
  const m = manager.client;
  await waitFor(async () => (await allEngines(m, { statuses: [EngineStatus.ENGINE_STATUS_HEALTHY] })).length === 1, { what: 'the engine to be healthy' });
  for (let i = 0; i < args.containers; i++) {
    await call(m, m.createContainer, { spec: ContainerSpec.fromPartial({ name: `cli-startup-${i}`, image: 'busybox:local', command: ['sleep', '3600'], networkMode: 'none' }), start: true, requestId: '' });
  }

  // The CLI's settings as a user would have them: manager and TLS from the environment, its own
  // config and cache directories (the compile cache, when the CLI keeps one, is warmed by the warm-up rounds).
  const home = makeTempDir('flotilla-cli-startup-');
  const tls = testTls('operator');
  const baseEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FLOTILLA_') && !k.startsWith('NODE_') && k !== 'NO_COLOR') baseEnv[k] = v;
  Object.assign(baseEnv, { XDG_CONFIG_HOME: path.join(home, 'config'), XDG_CACHE_HOME: path.join(home, 'cache'), FLOTILLA_MANAGER: manager.address, FLOTILLA_TLS_CA: tls.ca, FLOTILLA_TLS_CERT: tls.cert, FLOTILLA_TLS_KEY: tls.key });

  const cases: Case[] = [
    { name: 'node -e 0' },
    { name: 'flotilla --version', args: ['--version'] },
    { name: 'flotilla --help', args: ['--help'] },
    { name: 'flotilla version', args: ['version'], api: getInfo, apiWhat: 'GetInfo' },
    { name: 'flotilla ps', args: ['ps'], api: (c) => Promise.all([listContainers(c), listEngines(c)]), apiWhat: 'ListContainers ∥ ListEngines' },
    { name: 'flotilla info', args: ['info'], api: (c) => Promise.all([getInfo(c), listEngines(c)]), apiWhat: 'GetInfo ∥ ListEngines' },
    { name: 'flotilla --version, compile cache off', args: ['--version'], env: { NODE_DISABLE_COMPILE_CACHE: '1' } },
    { name: 'floor: one GetInfo over mutual TLS, node:http2 alone', args: [], script: path.join(__dirname, 'grpc-call-floor.js'), api: getInfo, apiWhat: 'GetInfo' },
  ];
  const builds: Array<{ label: string; script: string }> = [{ label: '', script: cli }];
  if (baseline) builds.push({ label: 'baseline ', script: baseline });
  type Job = { key: string; argv: string[]; env: NodeJS.ProcessEnv; api?: ApiCall };
  const jobs: Job[] = [];
  for (const c of cases) {
    if (!c.args) {
      jobs.push({ key: c.name, argv: ['-e', '0'], env: baseEnv });
      continue;
    }
    if (c.script) {
      jobs.push({ key: c.name, argv: [c.script, ...c.args], env: baseEnv, api: c.api });
      continue;
    }
    for (const b of builds) jobs.push({ key: `${b.label}${c.name}`, argv: [b.script, ...c.args], env: { ...baseEnv, ...c.env }, api: c.api });
  }
  const samples = new Map<string, Samples>(jobs.map((j) => [j.key, { wall: [], api: [], overhead: [] }]));

  // Warm the bench's own client (connected, TLS done), then check every command works.
  for (let i = 0; i < 5; i++) for (const c of cases) await c.api?.(m);
  const total = args.warmup + args.runs;
  for (let round = 0; round < total; round++) {
    for (const job of shuffled(jobs, round + 1)) {
      const wall = spawnTimed(job.argv, job.env, 0);
      let api = 0;
      if (job.api) {
        const t = now();
        await job.api(m);
        api = now() - t;
      }
      if (round < args.warmup) continue;
      const s = samples.get(job.key)!;
      s.wall.push(wall);
      s.api.push(api);
      s.overhead.push(wall - api);
    }
    if (round >= args.warmup && (round - args.warmup) % 10 === 9) log(`${round - args.warmup + 1}/${args.runs} rounds`);
  }
  removeTempDir(home);

  const nodeS = summarize(samples.get('node -e 0')!.wall);
  const rows: Row[] = [{ what: '`node -e 0`', unit: 'ms', summary: nodeS }];
  const overheads: Array<{ key: string; s: Summary; api?: Summary; apiWhat?: string }> = [];
  for (const b of builds) {
    for (const c of cases) {
      if (!c.args || (c.script && b.label)) continue;
      const key = `${b.label}${c.name}`;
      const s = samples.get(key)!;
      rows.push({ what: `${b.label}${c.script ? c.name : `\`${c.name}\``}${c.api ? ', wall' : ''}`, unit: 'ms', summary: summarize(s.wall) });
      if (c.api) {
        rows.push({ what: `  its API calls from a warm client (${c.apiWhat})`, unit: 'ms', summary: summarize(s.api), digits: 2 });
        rows.push({ what: `  ${b.label}\`${c.name}\` overhead (wall − API, per pair)`, unit: 'ms', summary: summarize(s.overhead) });
      }
      overheads.push({ key, s: summarize(s.overhead), api: c.api ? summarize(s.api) : undefined, apiWhat: c.apiWhat });
    }
  }
  const limit = 1.5 * nodeS.median;
  // The floor: what any Node.js process pays for one call over mutual TLS (grpc-call-floor.ts).
  const floor = overheads.find((o) => o.key.startsWith('floor'))?.s;
  const ratioTable = [
    '| command | overhead median | overhead p99 | median ratio to `node -e 0` | p99 ratio to `node -e 0` p99 | median above the floor |',
    '|---|---:|---:|---:|---:|---:|',
    ...overheads.map((o) => `| ${o.key} | ${fmt(o.s.median)} ms | ${fmt(o.s.p99)} ms | ${(o.s.median / nodeS.median).toFixed(2)} | ${(o.s.p99 / nodeS.p99).toFixed(2)} | ${o.api && floor ? `${fmt(o.s.median - floor.median)} ms` : '–'} |`),
  ].join('\n');
  const goals = overheads
    .filter((o) => !o.key.startsWith('baseline ') && !o.key.includes('compile cache off') && !o.key.startsWith('floor'))
    .map((o) => ({ goal: `issue 13: ${o.key} overhead ≤ 1.5 × \`node -e 0\` (median)`, measured: `${fmt(o.s.median)} ms vs 1.5 × ${fmt(nodeS.median)} = ${fmt(limit)} ms (ratio ${(o.s.median / nodeS.median).toFixed(2)})`, met: o.s.median <= limit }));
  const body = [
    `One real Docker engine with ${args.containers} running container(s), its engine-agent and a cluster-manager (separate processes, default flags, mutual TLS). ${args.runs} rounds (after ${args.warmup} warm-up rounds, not counted); each round runs every row once, in a shuffled order, each as its own process (spawnSync, output piped) timed to its exit. The CLI is \`${path.relative(repoRoot(), cli) || cli}\`${baseline ? `; the baseline is \`${baseline}\`` : ''}; manager and TLS come from FLOTILLA_* variables, XDG_CONFIG_HOME and XDG_CACHE_HOME are fresh directories. After each command that calls the API, the bench makes the same call(s) from its warm client; the overhead is the command's time minus that, per pair (so it includes dialling: TCP, TLS and HTTP/2 set-up). \`compile cache off\` runs with NODE_DISABLE_COMPILE_CACHE=1. Machine: ${os.cpus().length} CPUs, shared.`,
    '',
    table(rows),
    '',
    ratioTable,
    '',
    goalTable(goals),
  ].join('\n');
  await manager.close();
  report(`cli-startup (B8), ${args.runs} rounds${baseline ? ', with a baseline build' : ''}`, body, !args['no-results']);
});
