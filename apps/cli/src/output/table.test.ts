import { stripAnsi } from '../io';
import { renderPairs, renderTable, truncate, type Column } from './table';

interface Row {
  id: string;
  command: string;
  status: string;
  engine: string;
  extra: string;
}

const rows: Row[] = [
  { id: 'c023b11a6962', command: 'sh -c "while true; do echo tick; sleep 1; done"', status: 'Up 5 minutes', engine: '127.0.0.1:4251', extra: '' },
  { id: '018e1e9b1307', command: 'sleep 300', status: 'Exited (7) 2 minutes ago', engine: '127.0.0.1:4250', extra: '' },
];

const columns: Array<Column<Row>> = [
  { header: 'CONTAINER ID', value: (r) => r.id },
  { header: 'COMMAND', value: (r) => r.command, flex: true, min: 10, drop: 1 },
  { header: 'STATUS', value: (r) => r.status, flex: true, min: 10, paint: (t) => `\x1b[32m${t}\x1b[39m` },
  { header: 'EXTRA', value: (r) => r.extra, drop: 5 },
  { header: 'ENGINE', value: (r) => r.engine, drop: 2 },
];

const widths = (text: string) => text.trimEnd().split('\n').map((l) => [...stripAnsi(l)].length);

it('prints every column in full when there is no terminal width', () => {
  const text = renderTable(rows, columns);
  expect(text.split('\n')[0]).toBe('CONTAINER ID   COMMAND                                           STATUS                     EXTRA   ENGINE');
  expect(text).toContain('sh -c "while true; do echo tick; sleep 1; done"');
});

it.each([120, 100, 80, 60, 50, 40, 30])('fits %i columns', (width) => {
  const text = renderTable(rows, columns, { width, colour: true });
  for (const w of widths(text)) expect(w).toBeLessThanOrEqual(width);
});

it('leaves out empty columns first, then shortens flexible ones with …, then drops the least important', () => {
  const at80 = renderTable(rows, columns, { width: 80 });
  expect(at80).not.toContain('EXTRA');
  expect(at80).toContain('ENGINE');
  expect(at80).toContain('…');
  const at50 = renderTable(rows, columns, { width: 50 });
  expect(at50).not.toContain('COMMAND');
  expect(at50).toContain('127.0.0.1:4251');
});

it('never shortens with noTrunc', () => {
  expect(renderTable(rows, columns, { width: 40, noTrunc: true })).toBe(renderTable(rows, columns));
});

it('colours cells only when asked, and the escapes do not count towards the width', () => {
  expect(renderTable(rows, columns)).not.toContain('\x1b[');
  const coloured = renderTable(rows, columns, { width: 100, colour: true });
  expect(coloured).toContain('\x1b[32m');
  expect(stripAnsi(coloured)).toBe(renderTable(rows, columns, { width: 100 }));
});

it('truncates with an ellipsis', () => {
  expect(truncate('abcdef', 4)).toBe('abc…');
  expect(truncate('abc', 4)).toBe('abc');
  expect(truncate('abc', 1)).toBe('…');
});

it('aligns key-value pairs', () => {
  expect(renderPairs([['Engines', '3'], ['Reserved CPUs', '0 / 6']])).toBe('Engines:       3\nReserved CPUs: 0 / 6\n');
});
