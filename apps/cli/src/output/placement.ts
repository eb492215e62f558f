import type { FlotillaError } from '@flotilla/errors';
import { PlacementExplanation, placementExplanationType, type EnginePlacement } from '@flotilla/proto/cluster';
import { palette, type Output } from '../io';
import { stateColour } from './format';
import { renderPairs, renderTable, type Column } from './table';

/** The PlacementExplanation a failed create carries as a google.rpc.Status detail, if any. */
export function decodeExplanation(err: FlotillaError): PlacementExplanation | undefined {
  const bytes = err.detail(placementExplanationType);
  if (!bytes) return undefined;
  try {
    return PlacementExplanation.decode(bytes);
  } catch {
    return undefined;
  }
}

interface Row {
  engine: string;
  address: string;
  verdict: string;
  filter: string;
  reason: string;
}

function verdictOf(e: EnginePlacement): string {
  if (e.chosen) return 'chosen';
  return e.filter ? 'rejected' : 'fits';
}

/** One line per engine: chosen, fits (with its score) or rejected (by which filter, and why). */
export function placementTable(explanation: PlacementExplanation, out: Output, colour: boolean, noTrunc = false): string {
  const p = palette(colour);
  const order = (e: EnginePlacement) => (e.chosen ? 0 : e.filter ? 2 : 1);
  const rows: Row[] = [...explanation.engines]
    .sort((a, b) => order(a) - order(b) || a.score - b.score)
    .map((e) => ({
      engine: e.engine?.name ?? '',
      address: e.engine?.address ?? '',
      verdict: verdictOf(e),
      filter: e.filter,
      // An engine that fits says why it weighs less when its health is not full (e.g. flapping).
      reason: e.filter ? e.reason : `score ${Math.round(e.score * 100) / 100}${e.reason ? `; ${e.reason}` : ''}`,
    }));
  // When every engine was rejected, the verdict column says nothing the reasons do not.
  const sameVerdict = rows.every((r) => r.verdict === rows[0]?.verdict);
  const columns: Array<Column<Row>> = [
    { header: 'ENGINE', value: (r) => r.engine, flex: true, min: 6, drop: 1 },
    { header: 'ADDRESS', value: (r) => r.address },
    ...(sameVerdict ? [] : [{ header: 'VERDICT', value: (r: Row) => r.verdict, drop: 3, paint: (t: string, r: Row) => stateColour(p, r.verdict)(t) }]),
    { header: 'FILTER', value: (r) => r.filter, drop: 2 },
    { header: 'REASON', value: (r) => r.reason, flex: true, min: 40 },
  ];
  return renderTable(rows, columns, { width: out.columns, colour, noTrunc });
}

/** The explanation as `explain` prints it: a summary, the rules in force, and the engine table. */
export function explanationText(explanation: PlacementExplanation, out: Output, colour: boolean, noTrunc = false): string {
  const pairs: Array<[string, string]> = [['Strategy', explanation.strategy]];
  if (explanation.constraints.length) pairs.push(['Constraints', explanation.constraints.join(', ')]);
  if (explanation.affinities.length) pairs.push(['Affinities', explanation.affinities.join(', ')]);
  if (explanation.softDropped) pairs.push(['Soft rules', 'dropped: no engine met them']);
  const table = explanation.engines.length ? `\n${placementTable(explanation, out, colour, noTrunc)}` : '';
  return `${renderPairs(pairs, out.columns)}${table}`;
}
