import type { PullProgress } from '@flotilla/proto';
import { colourEnabled, palette, type Output } from '../io';
import { formatBytes } from './units';
import { truncate } from './table';

/*
 * Progress on a terminal only: a bar per engine for pulls, a spinner for long waits. Neither
 * draws anything when the output is not a terminal; pulls then print plain status lines.
 */

const ESC = '\x1b[';

interface Layer {
  current: number;
  total: number;
  done: boolean;
}

interface EngineProgress {
  label: string;
  layers: Map<string, Layer>;
  status: string;
  done: boolean;
  error: string;
  lastPlain: string;
}

const layerDone = /^(pull complete|already exists|download complete)/i;

/** Per-engine pull progress: redrawn bars on a terminal, status lines otherwise. */
export class PullDisplay {
  private readonly engines = new Map<string, EngineProgress>();
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private readonly tty: boolean;
  private readonly p;

  constructor(
    private readonly out: Output,
    env: NodeJS.ProcessEnv,
    private readonly image: string,
  ) {
    this.tty = out.isTTY && env.TERM !== 'dumb';
    this.p = palette(colourEnabled(out, env));
  }

  private engine(key: string, label: string): EngineProgress {
    let e = this.engines.get(key);
    if (!e) {
      e = { label, layers: new Map(), status: 'waiting', done: false, error: '', lastPlain: '' };
      this.engines.set(key, e);
    }
    return e;
  }

  /** Registers an engine before it reports anything, so its line shows from the start. */
  expect(key: string, label: string): void {
    this.engine(key, label);
    this.schedule();
  }

  progress(key: string, label: string, progress: PullProgress): void {
    const e = this.engine(key, label);
    const layerId = progress.layerId;
    if (layerId) {
      const layer = e.layers.get(layerId) ?? { current: 0, total: 0, done: false };
      const total = Number(progress.totalBytes);
      if (total > 0) {
        layer.total = total;
        layer.current = Number(progress.currentBytes);
      }
      if (layerDone.test(progress.status)) {
        layer.done = true;
        if (layer.total) layer.current = layer.total;
      }
      e.layers.set(layerId, layer);
    }
    e.status = layerId && !/^(digest|status)/i.test(progress.status) ? `${layerId}: ${progress.status}` : progress.status;
    if (this.tty) this.schedule();
    else if (!Number(progress.totalBytes) && e.lastPlain !== e.status) {
      e.lastPlain = e.status;
      this.out.write(`${label}: ${e.status}\n`);
    }
  }

  finish(key: string, label: string, error: string): void {
    const e = this.engine(key, label);
    e.done = true;
    e.error = error;
    for (const layer of e.layers.values()) if (!error) layer.done = true;
    if (this.tty) this.schedule();
    else this.out.write(error ? `${label}: failed: ${error}\n` : `${label}: done, ${this.image} is on the engine\n`);
  }

  private schedule(): void {
    if (!this.tty) return;
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 80);
  }

  private line(e: EngineProgress, labelWidth: number, width: number): string {
    const layers = [...e.layers.values()];
    const total = layers.reduce((s, l) => s + l.total, 0);
    const current = layers.reduce((s, l) => s + (l.done ? l.total : l.current), 0);
    const allDone = layers.length > 0 && layers.every((l) => l.done);
    const fraction = e.done && !e.error ? 1 : total > 0 ? Math.min(1, current / total) : allDone ? 1 : 0;
    const label = e.label.padEnd(labelWidth);
    const barWidth = Math.max(10, Math.min(30, width - labelWidth - 40));
    const filled = Math.round(fraction * barWidth);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}`;
    const pct = `${String(Math.round(fraction * 100)).padStart(3)}%`;
    const bytes = total > 0 ? ` ${formatBytes(current)}/${formatBytes(total)}` : '';
    const status = e.error ? `failed: ${e.error}` : e.done ? 'done' : e.status;
    const plain = `${label}  ${bar} ${pct}${bytes}  ${status}`;
    const cut = truncate(plain, width - 1);
    if (cut !== plain) return cut;
    const colour = e.error ? this.p.red : e.done ? this.p.green : (t: string) => t;
    return `${label}  ${colour(bar)} ${pct}${bytes}  ${colour(status)}`;
  }

  private draw(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const width = this.out.columns ?? 80;
    const entries = [...this.engines.values()];
    const labelWidth = Math.min(30, Math.max(0, ...entries.map((e) => e.label.length)));
    let text = this.drawnLines ? `${ESC}${this.drawnLines}A` : '';
    for (const e of entries) text += `\r${ESC}2K${this.line(e, labelWidth, width)}\n`;
    this.drawnLines = entries.length;
    this.out.write(text);
  }

  /** Draws the final state and stops redrawing. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.tty) {
      this.dirty = true;
      this.draw();
    }
  }
}

const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Spinner {
  /** Changes the text shown next to the spinner. */
  update(text: string): void;
  /** Clears the spinner line. */
  stop(): void;
}

/** A spinner on a terminal, shown only when the wait lasts more than `delayMs`; nothing otherwise. */
export function spinner(out: Output, env: NodeJS.ProcessEnv, text: string, delayMs = 250): Spinner {
  if (!out.isTTY || env.TERM === 'dumb') return { update: () => undefined, stop: () => undefined };
  let current = text;
  let frame = 0;
  let shown = false;
  const draw = () => {
    shown = true;
    const width = (out.columns ?? 80) - 1;
    out.write(`\r${ESC}2K${truncate(`${frames[frame++ % frames.length]} ${current}`, width)}`);
  };
  let interval: NodeJS.Timeout | undefined;
  const delay = setTimeout(() => {
    draw();
    interval = setInterval(draw, 100);
  }, delayMs);
  return {
    update: (next) => {
      current = next;
    },
    stop: () => {
      clearTimeout(delay);
      if (interval) clearInterval(interval);
      if (shown) out.write(`\r${ESC}2K`);
      shown = false;
    },
  };
}
