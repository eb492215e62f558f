/**
 * What a hollow container "runs": its output at start and whether (and when) it exits. Real
 * engines run busybox commands; a hollow one reads the few a test or bench uses, so the same
 * `docker run` gives the same states on both: `true`, `false`, `echo ...`, `exit N`, `sleep N`
 * (runs until stopped) and `sh -c "<those, joined by ; or &&>"`. Anything else runs until stopped,
 * like a server.
 */
export interface HollowProgram {
  output?: Array<{ stream: 'stdout' | 'stderr'; text: string }>;
  /** Exit code once it ends by itself; undefined: runs until stopped or killed. */
  exitCode?: number;
  /** How long after start it exits. Default 0 (right after the start call answers). */
  afterMs?: number;
}

/** Splits shell words: whitespace-separated, single and double quotes honoured. */
function words(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]));
  return out;
}

const base = (word: string | undefined) => (word ?? '').replace(/^.*\//, '');

/** One simple command; `done` when the program ends there. */
function step(argv: string[], program: Required<Pick<HollowProgram, 'output'>> & HollowProgram): 'next' | 'done' {
  const [cmd, ...args] = argv;
  switch (base(cmd)) {
    case '':
    case 'true':
    case ':':
      program.exitCode = 0;
      return 'next';
    case 'false':
      program.exitCode = 1;
      return 'next';
    case 'echo': {
      const toStderr = args.includes('>&2') || args.includes('1>&2');
      const text = args.filter((a) => a !== '>&2' && a !== '1>&2').join(' ') + '\n';
      program.output.push({ stream: toStderr ? 'stderr' : 'stdout', text });
      program.exitCode = 0;
      return 'next';
    }
    case 'exit':
      program.exitCode = Number(args[0] ?? 0) & 0xff;
      return 'done';
    default:
      // sleep, a server, anything unknown: runs until stopped.
      program.exitCode = undefined;
      return 'done';
  }
}

export function programFor(argv: string[]): HollowProgram {
  const program: Required<Pick<HollowProgram, 'output'>> & HollowProgram = { output: [] };
  const shell = ['sh', 'bash', 'ash'].includes(base(argv[0]));
  if (shell && argv[1] === '-c') {
    for (const part of (argv[2] ?? '').split(/;|&&|\n/)) {
      if (step(words(part.trim()), program) === 'done') return program;
    }
    return program;
  }
  // A shell without -c and without stdin reads EOF and exits 0.
  if (shell && argv.length === 1) return { output: [], exitCode: 0 };
  step(argv, program);
  return program;
}
