import { isIP } from 'node:net';
import { holds, type Expression } from '../expression';
import type { PlacementEngine } from '../placement-engine';
import type { Filter } from './filter';

/** The host of an engine address (`host:port`, IPv6 in brackets) when it is an IP address, else "". */
export function addressIp(address: string): string {
  let host: string;
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    host = end < 0 ? '' : address.slice(1, end);
  } else {
    const colon = address.lastIndexOf(':');
    host = colon < 0 ? address : address.slice(0, colon);
  }
  return isIP(host) ? host : '';
}

/**
 * Every identity `node==` and `node!=` match, as classic Swarm users wrote them: the engine's
 * name, its ID, its (agent) address `host:port`, classic's `ID|address`, and its IP (the engine's
 * own when it reports one, else the host of its address when that is an IP address).
 */
export function nodeIdentities(engine: PlacementEngine): string[] {
  const out = [engine.name, engine.id];
  if (engine.address) out.push(engine.address, `${engine.id}|${engine.address}`);
  const ip = engine.ip || addressIp(engine.address);
  if (ip) out.push(ip);
  return out.filter((v, i) => v !== '' && out.indexOf(v) === i);
}

/** The engine's values for a constraint key: `node` is its identities (see `nodeIdentities`); other keys are labels (missing: ""). */
export function constraintValues(engine: PlacementEngine, key: string): string[] {
  return key === 'node' ? nodeIdentities(engine) : [labelValue(engine, key)];
}

function labelValue(engine: PlacementEngine, key: string): string {
  const direct = engine.labels[key];
  if (direct !== undefined) return direct;
  for (const k in engine.labels) if (k.toLowerCase() === key) return engine.labels[k];
  return '';
}

/**
 * Whether the constraint holds on the engine. For `node`, `==` holds when any identity matches
 * and `!=` when none does: an engine is excluded by `node!=X` as soon as one of its identities
 * is X (or matches the glob or regular expression X).
 */
export function constraintHolds(engine: PlacementEngine, c: Expression): boolean {
  // The hot path: one label, no arrays.
  if (c.key !== 'node') return c.matches(labelValue(engine, c.key)) !== c.negated;
  return holds(c, nodeIdentities(engine));
}

function describeEngine(engine: PlacementEngine): string {
  const id = engine.id.slice(0, 14);
  return engine.address && engine.address !== engine.name ? `${engine.name} (${id}, ${engine.address})` : `${engine.name} (${id})`;
}

/** Engine constraints: `node==name|id|address|ip|id|address`, other keys match engine labels. */
export const constraintFilter: Filter = {
  name: 'constraint',
  applies: (request) => request.constraints.length > 0,
  reject(engine, request, pass) {
    for (const c of request.constraints) {
      if (c.soft && !pass.soft) continue;
      if (!constraintHolds(engine, c)) {
        const actual = c.key === 'node' ? `engine is ${describeEngine(engine)}` : `label ${c.key} is ${JSON.stringify(constraintValues(engine, c.key)[0])}`;
        return `constraint ${c.text} does not hold: ${actual}`;
      }
    }
    return null;
  },
};
