import { flag } from '@flotilla/config';
import { colourEnabled, palette, type Io, type Palette } from '../io';
import { renderTable, type Column } from './table';
import { Template } from './template';

export type Format = { kind: 'table' } | { kind: 'json' } | { kind: 'template'; template: Template };

export const formatOption = flag('string', {
  placeholder: 'FORMAT',
  description: 'table (the default), json, or a Go template such as \'{{.Name}} {{.Engine}}\'',
  complete: ['table', 'json'],
});

export const noTruncOption = flag('boolean', { description: 'Never shorten or leave out columns to fit the terminal' });

export function parseFormat(text: string | undefined): Format {
  const value = (text ?? '').trim();
  if (value === '' || value === 'table') return { kind: 'table' };
  if (value === 'json') return { kind: 'json' };
  return { kind: 'template', template: Template.parse(text!) };
}

/** What a template sees: the row's display fields (ID, Name, Engine, ...) and then the API object's. */
export function templateData(row: Record<string, unknown>, api: unknown): Record<string, unknown> {
  const data: Record<string, unknown> = { ...row };
  if (api && typeof api === 'object') for (const [k, v] of Object.entries(api)) if (!Object.hasOwn(data, k)) data[k] = v;
  return data;
}

export interface Listing<R> {
  rows: readonly R[];
  columns: ReadonlyArray<Column<R>>;
  /** The API object as JSON (for --format json and templates). */
  json: (row: R) => unknown;
  /** The display fields templates see first. */
  fields: (row: R) => Record<string, unknown>;
  /** Printed instead of the table when there are no rows (on stderr, so pipes stay clean). */
  empty?: string;
}

/** Prints a listing as a table fitted to the terminal, as JSON, or through a template (one line per row). */
export function printListing<R>(io: Io, format: Format, listing: Listing<R>, options: { noTrunc?: boolean } = {}): void {
  switch (format.kind) {
    case 'json':
      io.stdout.write(`${JSON.stringify(listing.rows.map(listing.json), null, 2)}\n`);
      return;
    case 'template':
      for (const row of listing.rows) io.stdout.write(`${format.template.render(templateData(listing.fields(row), listing.json(row)))}\n`);
      return;
    case 'table':
      io.stdout.write(renderTable(listing.rows, listing.columns, { width: io.stdout.columns, noTrunc: options.noTrunc, colour: colourEnabled(io.stdout, io.env) }));
      if (!listing.rows.length && listing.empty && io.stderr.isTTY) io.stderr.write(`${listing.empty}\n`);
  }
}

/** Prints one object: JSON (also the default for `inspect`), or through a template. */
export function printObject(io: Io, format: Format, json: unknown, fields: Record<string, unknown> = {}): void {
  if (format.kind === 'template') io.stdout.write(`${format.template.render(templateData(fields, json))}\n`);
  else io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
}

/** Inspect documents: one JSON array (the default), or the template once per document. */
export function printDocuments(io: Io, format: Format, documents: ReadonlyArray<Record<string, unknown>>): void {
  if (format.kind === 'template') for (const d of documents) printObject(io, format, d, d);
  else printObject(io, format, documents);
}

export function stdoutPalette(io: Io): Palette {
  return palette(colourEnabled(io.stdout, io.env));
}

export function stderrPalette(io: Io): Palette {
  return palette(colourEnabled(io.stderr, io.env));
}

/** Colours a Docker or engine state word. */
export function stateColour(p: Palette, state: string): (text: string) => string {
  if (/^(running|healthy|up|chosen)/i.test(state)) return p.green;
  if (/^(exited|dead|unhealthy|disconnected|rejected|removing)/i.test(state)) return p.red;
  if (/^(created|paused|restarting|pending|flapping)/i.test(state)) return p.yellow;
  return (t) => t;
}
