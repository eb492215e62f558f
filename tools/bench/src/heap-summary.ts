#!/usr/bin/env node
// Where a manager's heap goes, from a .heapsnapshot (hollow-cluster.js --heap-snapshot writes one):
// self size by type and constructor, the bytes in strings that repeat, the retained size of what
// hangs off each Engine (its containers map and indexes), and the decoded containers field by field.
//   node tools/bench/dist/heap-summary.js FILE.heapsnapshot [--containers 30000] [--engines 1000]
import * as fs from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const args = process.argv.slice(2);
const file = args[0];
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : NaN;
};
if (!file) {
  process.stderr.write('usage: heap-summary FILE.heapsnapshot [--containers N] [--engines N]\n');
  process.exit(2);
}
const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
const meta = snap.snapshot.meta;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const nType = meta.node_fields.indexOf('type');
const nName = meta.node_fields.indexOf('name');
const nSelf = meta.node_fields.indexOf('self_size');
const nEdges = meta.node_fields.indexOf('edge_count');
const eType = meta.edge_fields.indexOf('type');
const eName = meta.edge_fields.indexOf('name_or_index');
const eTo = meta.edge_fields.indexOf('to_node');
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const { nodes, edges, strings } = snap;
const N = nodes.length / NF;
const firstEdge = new Uint32Array(N + 1);
for (let i = 0, e = 0; i < N; i++) {
  firstEdge[i] = e;
  e += nodes[i * NF + nEdges] * EF;
  firstEdge[i + 1] = e;
}
const type = (n: number) => nodeTypes[nodes[n * NF + nType]];
const name = (n: number) => strings[nodes[n * NF + nName]];
const self = (n: number) => nodes[n * NF + nSelf];
const weak = edgeTypes.indexOf('weak');
const edgeName = (e: number) => {
  const t = edgeTypes[edges[e + eType]];
  return t === 'element' || t === 'hidden' ? String(edges[e + eName]) : strings[edges[e + eName]];
};
const target = (e: number) => edges[e + eTo] / NF;

// ---- dominators (Cooper, Harvey, Kennedy), weak edges ignored as DevTools does ----
const post = new Int32Array(N).fill(-1);
const order: number[] = [];
{
  const stack = [0];
  const next = new Uint32Array(N);
  const seen = new Uint8Array(N);
  seen[0] = 1;
  for (let i = 0; i < N; i++) next[i] = firstEdge[i];
  while (stack.length) {
    const n = stack[stack.length - 1];
    let pushed = false;
    while (next[n] < firstEdge[n + 1]) {
      const e = next[n];
      next[n] += EF;
      if (edges[e + eType] === weak) continue;
      const t = target(e);
      if (!seen[t]) {
        seen[t] = 1;
        stack.push(t);
        pushed = true;
        break;
      }
    }
    if (!pushed) {
      stack.pop();
      post[n] = order.length;
      order.push(n);
    }
  }
}
const predStart = new Uint32Array(N + 1);
for (let n = 0; n < N; n++) {
  if (post[n] < 0) continue;
  for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += EF) if (edges[e + eType] !== weak) predStart[target(e) + 1]++;
}
for (let i = 0; i < N; i++) predStart[i + 1] += predStart[i];
const preds = new Uint32Array(predStart[N]);
{
  const fill = predStart.slice(0, N);
  for (let n = 0; n < N; n++) {
    if (post[n] < 0) continue;
    for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += EF) if (edges[e + eType] !== weak) preds[fill[target(e)]++] = n;
  }
}
const idom = new Int32Array(N).fill(-1);
idom[0] = 0;
for (let changed = true; changed; ) {
  changed = false;
  for (let i = order.length - 2; i >= 0; i--) {
    const n = order[i];
    let d = -1;
    for (let p = predStart[n]; p < predStart[n + 1]; p++) {
      let a = preds[p];
      if (idom[a] < 0) continue;
      if (d < 0) {
        d = a;
        continue;
      }
      let b = d;
      while (a !== b) {
        while (post[a] < post[b]) a = idom[a];
        while (post[b] < post[a]) b = idom[b];
      }
      d = a;
    }
    if (d >= 0 && idom[n] !== d) {
      idom[n] = d;
      changed = true;
    }
  }
}
const retained = new Float64Array(N);
for (const n of order) retained[n] += self(n);
for (const n of order) if (n !== 0 && idom[n] >= 0) retained[idom[n]] += retained[n];

// ---- report ----
const out: string[] = [];
const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
const per = (b: number, count: number) => (count > 0 ? (b / count).toFixed(0) : '–');
const containers = opt('containers');
const engines = opt('engines');
let total = 0;
for (let n = 0; n < N; n++) total += self(n);
out.push(`${N} nodes, ${kb(total)} in all (${per(total, containers)} B a container, ${per(total, engines)} B an engine)`);

const group = (key: (n: number) => string | undefined, top: number, title: string) => {
  const sums = new Map<string, { bytes: number; count: number }>();
  for (let n = 0; n < N; n++) {
    const k = key(n);
    if (k === undefined) continue;
    const s = sums.get(k) ?? { bytes: 0, count: 0 };
    s.bytes += self(n);
    s.count++;
    sums.set(k, s);
  }
  out.push('', `## ${title}`, '| what | count | self | B a container | B an engine |', '|---|---:|---:|---:|---:|');
  for (const [k, s] of [...sums].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) out.push(`| ${k.slice(0, 70).replace(/\|/g, '\\|').replace(/\n/g, ' ')} | ${s.count} | ${kb(s.bytes)} | ${per(s.bytes, containers)} | ${per(s.bytes, engines)} |`);
};
group(type, 20, 'self size by node type');
group((n) => (['string', 'concatenated string', 'sliced string', 'number'].includes(type(n)) ? undefined : `${type(n)} ${name(n)}`), 45, 'self size by type and constructor (strings apart)');

// Strings: how many bytes are in copies of a value held elsewhere too.
{
  const byValue = new Map<string, { bytes: number; count: number }>();
  let stringBytes = 0;
  for (let n = 0; n < N; n++) {
    if (type(n) !== 'string') continue;
    stringBytes += self(n);
    const v = name(n);
    const s = byValue.get(v) ?? { bytes: 0, count: 0 };
    s.bytes += self(n);
    s.count++;
    byValue.set(v, s);
  }
  let dupBytes = 0;
  const dups = [...byValue].filter(([, s]) => s.count > 1);
  for (const [, s] of dups) dupBytes += s.bytes - s.bytes / s.count;
  out.push('', `## strings: ${kb(stringBytes)} in flat strings, ${byValue.size} distinct values; ${kb(dupBytes)} are copies of a value held elsewhere too (${per(dupBytes, containers)} B a container)`);
  out.push('| value (first 60 chars) | copies | bytes beyond the first |', '|---|---:|---:|');
  for (const [v, s] of dups.sort((a, b) => b[1].bytes - b[1].bytes / b[1].count - (a[1].bytes - a[1].bytes / a[1].count)).slice(0, 30)) {
    out.push(`| ${JSON.stringify(v.slice(0, 60)).replace(/\|/g, '\\|')} | ${s.count} | ${kb(s.bytes - s.bytes / s.count)} |`);
  }
}

// Retained size by constructor: only outermost instances (an instance dominated by another of its kind is inside it).
{
  const sums = new Map<string, { bytes: number; count: number }>();
  for (let n = 1; n < N; n++) {
    const t = type(n);
    if (t !== 'object' && t !== 'native' && t !== 'closure') continue;
    const k = `${t} ${name(n)}`;
    let d = idom[n];
    let nested = false;
    for (let hops = 0; d > 0 && hops < 6; hops++, d = idom[d]) if (name(d) === name(n) && type(d) === t) nested = true;
    if (nested) continue;
    const s = sums.get(k) ?? { bytes: 0, count: 0 };
    s.bytes += retained[n];
    s.count++;
    sums.set(k, s);
  }
  out.push('', '## retained size by constructor (outermost instances; overlapping between constructors)', '| constructor | count | retained | B a container | B an engine |', '|---|---:|---:|---:|---:|');
  for (const [k, s] of [...sums].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 40)) out.push(`| ${k.slice(0, 70).replace(/\|/g, '\\|')} | ${s.count} | ${kb(s.bytes)} | ${per(s.bytes, containers)} | ${per(s.bytes, engines)} |`);
}

// What each Engine holds, property by property (retained), and its containers field by field.
const prop = (n: number, p: string): number | undefined => {
  for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += EF) if (edgeTypes[edges[e + eType]] === 'property' && edgeName(e) === p) return target(e);
  return undefined;
};
const mapValues = (map: number): number[] => {
  // A JS Map's entries sit in its hidden "table" array.
  const found: number[] = [];
  const table = [...Array((firstEdge[map + 1] - firstEdge[map]) / EF).keys()].map((i) => firstEdge[map] + i * EF).find((e) => edgeName(e) === 'table');
  if (table === undefined) return found;
  const t = target(table);
  for (let e = firstEdge[t]; e < firstEdge[t + 1]; e += EF) found.push(target(e));
  return found;
};
{
  const engineNodes: number[] = [];
  for (let n = 0; n < N; n++) if (type(n) === 'object' && name(n) === 'Engine' && prop(n, 'containers') !== undefined) engineNodes.push(n);
  const byProp = new Map<string, number>();
  const containerNodes: number[] = [];
  for (const en of engineNodes) {
    for (let e = firstEdge[en]; e < firstEdge[en + 1]; e += EF) {
      const t = target(e);
      if (idom[t] !== en) continue;
      byProp.set(edgeName(e), (byProp.get(edgeName(e)) ?? 0) + retained[t]);
    }
    const map = prop(en, 'containers');
    if (map !== undefined) for (const v of mapValues(map)) if (type(v) === 'object' && prop(v, 'imageId') !== undefined) containerNodes.push(v);
  }
  out.push('', `## what ${engineNodes.length} Engine objects hold (retained, dominated by the engine)`, '| property | retained | B a container | B an engine |', '|---|---:|---:|---:|');
  for (const [k, b] of [...byProp].sort((a, b) => b[1] - a[1]).slice(0, 25)) out.push(`| ${k} | ${kb(b)} | ${per(b, containers)} | ${per(b, engines)} |`);
  const fields = new Map<string, { owned: number; shared: number }>();
  let own = 0;
  for (const c of containerNodes) {
    own += self(c);
    for (let e = firstEdge[c]; e < firstEdge[c + 1]; e += EF) {
      const t = target(e);
      const k = `${edgeTypes[edges[e + eType]]} ${edgeName(e)}`;
      const f = fields.get(k) ?? { owned: 0, shared: 0 };
      if (idom[t] === c) f.owned += retained[t];
      else f.shared++;
      fields.set(k, f);
    }
  }
  const nc = containerNodes.length;
  out.push('', `## the ${nc} decoded containers, field by field: the object itself ${per(own, nc)} B; what each field holds alone (dominated by the container)`, '| field | B a container | fields pointing at a shared value |', '|---|---:|---:|');
  for (const [k, f] of [...fields].sort((a, b) => b[1].owned - a[1].owned)) if (f.owned > 0 || f.shared > 0) out.push(`| ${k} | ${per(f.owned, nc)} | ${f.shared} |`);
  let whole = 0;
  for (const c of containerNodes) whole += retained[c];
  out.push(`retained by the containers in all: ${kb(whole)}, ${per(whole, nc)} B a container`);
}
// The per-connection objects of grpc-js and Node (one each per engine), property by property.
for (const ctor of (args[args.indexOf('--break-down') + 1] ?? '').split(',').filter((c) => args.includes('--break-down') && c)) {
  const byProp = new Map<string, number>();
  let count = 0;
  let whole = 0;
  for (let n = 0; n < N; n++) {
    if (type(n) !== 'object' || name(n) !== ctor) continue;
    count++;
    whole += retained[n];
    for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += EF) {
      const t = target(e);
      if (idom[t] !== n) continue;
      const k = `${edgeName(e)} (${type(t)} ${name(t).slice(0, 30)})`;
      byProp.set(k, (byProp.get(k) ?? 0) + retained[t]);
    }
  }
  out.push('', `## ${count} ${ctor}: ${per(whole, count)} B retained each; by property`, '| property | B each |', '|---|---:|');
  for (const [k, b] of [...byProp].sort((a, b) => b[1] - a[1]).slice(0, 12)) out.push(`| ${k.replace(/\|/g, '\\|')} | ${per(b, count)} |`);
}
process.stdout.write(out.join('\n') + '\n');
