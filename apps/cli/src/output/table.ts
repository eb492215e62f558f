/*
 * Tables as docker prints them (upper-case headers, columns three spaces apart), fitted to the
 * terminal: on a terminal narrower than the table, flexible columns are shortened (with …), and
 * when that is not enough the least important columns are left out. Piped output is never cut.
 */

export interface Column<R> {
  header: string;
  value: (row: R) => string;
  /** May be shortened (with …) down to `min` characters to fit. */
  flex?: boolean;
  /** Narrowest a flexible column gets; default the header's width, at least 8. */
  min?: number;
  /** May be left out when even the shortened table is too wide; lower goes first. */
  drop?: number;
  /** Colours a cell after it was padded (so escapes never count towards the width). */
  paint?: (text: string, row: R) => string;
}

export interface TableOptions {
  /** The terminal's width; no fitting when undefined. */
  width?: number;
  /** Never shorten or leave out anything. */
  noTrunc?: boolean;
  /** Paint cells (colour); only on a terminal. */
  colour?: boolean;
}

const GAP = 3;

/** Shortens to `width` characters, ending with … when something was cut. */
export function truncate(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  if (width <= 0) return '';
  if (width === 1) return '…';
  return `${chars.slice(0, width - 1).join('')}…`;
}

function len(text: string): number {
  return [...text].length;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ');
}

export interface Fitted<R> {
  columns: Array<Column<R>>;
  widths: number[];
}

/**
 * Which columns to show and how wide, to fit `width`: first leave out empty droppable columns,
 * then shorten the expendable (droppable) flexible columns, least important first, then leave out
 * droppable columns, least important first, then shorten the essential flexible columns, widest
 * first. Room left over goes back to the columns that were shortened, most important first.
 */
export function fitColumns<R>(columns: ReadonlyArray<Column<R>>, cells: string[][], options: TableOptions): Fitted<R> {
  const natural = columns.map((c, i) => Math.max(len(c.header), ...cells.map((row) => len(row[i]))));
  const width = options.width;
  if (width === undefined || options.noTrunc) return { columns: [...columns], widths: natural };
  const minOf = (i: number) => (columns[i].flex ? Math.min(natural[i], columns[i].min ?? Math.max(len(columns[i].header), 8)) : natural[i]);
  const widths = new Map(columns.map((_, i) => [i, natural[i]]));
  let visible = columns.map((_, i) => i);
  const total = () => visible.reduce((sum, i) => sum + widths.get(i)!, 0) + GAP * Math.max(0, visible.length - 1);
  const priority = (i: number) => columns[i].drop ?? Number.POSITIVE_INFINITY;
  const byPriority = (list: number[]) => [...list].sort((a, b) => priority(a) - priority(b));
  const shrink = (i: number) => widths.set(i, Math.max(minOf(i), widths.get(i)! - (total() - width)));

  const empty = (i: number) => columns[i].drop !== undefined && cells.every((row) => row[i].trim() === '');
  while (total() > width && visible.some(empty)) visible = visible.filter((i) => i !== visible.find(empty));
  for (const i of byPriority(visible.filter((i) => columns[i].flex && columns[i].drop !== undefined))) if (total() > width) shrink(i);
  // Essential flexible columns can still be shortened, so count them at their narrowest here.
  const essential = (i: number) => columns[i].flex && columns[i].drop === undefined;
  const narrowest = () => visible.reduce((sum, i) => sum + (essential(i) ? minOf(i) : widths.get(i)!), 0) + GAP * Math.max(0, visible.length - 1);
  for (const i of byPriority(visible.filter((i) => columns[i].drop !== undefined))) if (narrowest() > width) visible = visible.filter((v) => v !== i);
  while (total() > width) {
    const shrinkable = visible.filter((i) => essential(i) && widths.get(i)! > minOf(i));
    if (!shrinkable.length) break;
    const widest = shrinkable.reduce((a, b) => (widths.get(b)! > widths.get(a)! ? b : a));
    widths.set(widest, widths.get(widest)! - 1);
  }
  for (const i of byPriority(visible).reverse()) {
    const spare = width - total();
    if (spare <= 0) break;
    widths.set(i, Math.min(natural[i], widths.get(i)! + spare));
  }
  return { columns: visible.map((i) => columns[i]), widths: visible.map((i) => widths.get(i)!) };
}

export function renderTable<R>(rows: readonly R[], columns: ReadonlyArray<Column<R>>, options: TableOptions = {}): string {
  const cells = rows.map((row) => columns.map((c) => oneLine(c.value(row))));
  const fitted = fitColumns(columns, cells, options);
  const index = fitted.columns.map((c) => columns.indexOf(c));
  const line = (texts: string[], row: R | undefined, colour: boolean) =>
    texts
      .map((text, k) => {
        const w = fitted.widths[k];
        const cut = truncate(text, w);
        const last = k === texts.length - 1;
        const padded = last ? cut : cut + ' '.repeat(w - len(cut));
        const column = fitted.columns[k];
        return row !== undefined && colour && column.paint && cut.trim() ? column.paint(padded, row) : padded;
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  const render = (colour: boolean) => [line(fitted.columns.map((c) => c.header), undefined, colour), ...rows.map((row, r) => line(index.map((i) => cells[r][i]), row, colour))];
  const plain = render(false);
  const width = options.width;
  if (width !== undefined && !options.noTrunc && plain.some((l) => len(l) > width)) {
    // Whatever could not be shortened is cut at the terminal's edge rather than wrapped.
    return `${plain.map((l) => truncate(l, width)).join('\n')}\n`;
  }
  return `${(options.colour ? render(true) : plain).join('\n')}\n`;
}

/** Splits text into lines of at most `width` characters, at spaces where it can. */
export function wrap(text: string, width: number): string[] {
  if (width < 1 || len(text) <= width) return [text];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const candidate = line ? `${line} ${word}` : word;
    if (len(candidate) <= width) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    let rest = word;
    while (len(rest) > width) {
      lines.push([...rest].slice(0, width).join(''));
      rest = [...rest].slice(width).join('');
    }
    line = rest;
  }
  if (line) lines.push(line);
  return lines;
}

/** `Key:  value` lines, aligned, as `docker info` prints them; long values wrap within `width`. */
export function renderPairs(pairs: Array<[string, string]>, width?: number): string {
  const keyWidth = Math.max(0, ...pairs.map(([k]) => len(k) + 1));
  const indent = ' '.repeat(keyWidth + 1);
  return pairs
    .map(([k, v]) => {
      const lines = width === undefined ? [v] : wrap(v, Math.max(10, width - keyWidth - 1));
      return lines.map((l, i) => `${i === 0 ? `${`${k}:`.padEnd(keyWidth)} ` : indent}${l}`.trimEnd()).join('\n');
    })
    .join('\n') + (pairs.length ? '\n' : '');
}
