import type { CompletionKind, OptionSpecs } from './args';
import { isGroup, type AnyCommand, type Command } from './command';

/*
 * Shell completion scripts, generated from the command table so they never drift from the
 * flags: commands, subcommands, flags, flag values (choices, files) and, by asking the cluster,
 * container names and engine addresses.
 */

interface Leaf {
  /** "run", "engine ls" */
  path: string;
  command: Command<OptionSpecs>;
}

function leaves(commands: readonly AnyCommand[]): Leaf[] {
  return commands.flatMap((c) => (isGroup(c) ? c.subcommands.map((s) => ({ path: `${c.name} ${s.name}`, command: s })) : [{ path: c.name, command: c }]));
}

function flagWords(specs: OptionSpecs): string[] {
  return Object.entries(specs)
    .filter(([, s]) => !s.hidden)
    .flatMap(([name, s]) => [`--${name}`, ...(s.short ? [`-${s.short}`] : [])]);
}

function valueFlags(specs: OptionSpecs): string[] {
  return Object.entries(specs)
    .filter(([, s]) => s.kind !== 'boolean')
    .flatMap(([name, s]) => [`--${name}`, ...(s.short ? [`-${s.short}`] : [])]);
}

const q = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** The shell words that complete a value of this kind (bash and zsh share them). */
function completer(kind: CompletionKind | undefined, shell: 'bash' | 'zsh'): string | undefined {
  if (!kind) return undefined;
  if (kind === 'files') return shell === 'bash' ? 'COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null' : '_files';
  const words = kind === 'containers' ? '"$(_flotilla_names)"' : kind === 'engines' ? '"$(_flotilla_engines)"' : q(kind.join(' '));
  return shell === 'bash' ? `COMPREPLY=($(compgen -W ${words} -- "$cur"))` : `_flotilla_add ${words}`;
}

function caseLabel(path: string): string {
  return `${q(path)}`;
}

export function completionScript(shell: 'bash' | 'zsh', commands: readonly AnyCommand[], globals: OptionSpecs, bin: string[]): string {
  const all = leaves(commands);
  const topWords = [...commands.flatMap((c) => [c.name]), 'help', ...flagWords(globals)].join(' ');
  const globalValueFlags = valueFlags(globals);
  const groups = commands.filter(isGroup);
  const start = shell === 'bash' ? 1 : 2;
  const words = shell === 'bash' ? 'COMP_WORDS' : 'words';
  const current = shell === 'bash' ? 'COMP_CWORD' : 'CURRENT';

  // Scan the words before the cursor: global flags (kept, to ask the same manager), the command,
  // a value flag waiting for its value, and how many positionals the command has already.
  const scanCases = all
    .map(({ path, command }) => {
      const vf = valueFlags(command.options);
      return `      ${caseLabel(path)}) case $w in ${vf.length ? `${vf.join('|')}) skip=1; flag=$w ;; ` : ''}-*) ;; *) npos=$((npos + 1)) ;; esac ;;`;
    })
    .join('\n');
  const valueCases = [
    ...Object.entries(globals)
      .filter(([, s]) => s.kind !== 'boolean' && s.complete)
      .map(([name, s]) => `      *:${[`--${name}`, ...(s.short ? [`-${s.short}`] : [])].join('|*:')}) ${completer(s.complete, shell)}; return ;;`),
    ...all.flatMap(({ path, command }) =>
      Object.entries(command.options)
        .filter(([, s]) => s.kind !== 'boolean' && (s.complete || s.choices))
        .map(([name, s]) => `      ${q(`${path}:`)}${[`--${name}`, ...(s.short ? [`-${s.short}`] : [])].join(`|${q(`${path}:`)}`)}) ${completer(s.complete ?? s.choices, shell)}; return ;;`),
    ),
  ].join('\n');
  const flagCases = all.map(({ path, command }) => `      ${caseLabel(path)}) _flotilla_words=${q([...flagWords(command.options), ...flagWords(globals), '--help'].join(' '))} ;;`).join('\n');
  const argCases = all
    .map(({ path, command }) => {
      const max = command.args.passthroughAfter ?? command.args.max;
      const limit = max !== undefined ? `((npos >= ${max})) && return; ` : '';
      const action = completer(command.args.complete, shell);
      return `      ${caseLabel(path)}) ${limit}${action ? `${action} ;;` : ';;'}`;
    })
    .join('\n');
  const groupCases = groups.map((g) => `      ${q(g.name)}) [[ $w == -* ]] || cmd="${g.name} $w"; continue ;;`).join('\n');
  const groupWords = groups.map((g) => `    ${q(g.name)}) _flotilla_words=${q(g.subcommands.map((s) => s.name).join(' '))} ;;`).join('\n');

  const body = `  local cur=\${${words}[${current}]} cmd='' w flag='' i skip=0 gflag=0 npos=0
  local -a globals
  for ((i = ${start}; i < ${current}; i++)); do
    w=\${${words}[i]}
    if ((skip)); then skip=0; ((gflag)) && globals+=("$flag" "$w"); continue; fi
    case $w in
      ${globalValueFlags.join('|')}) skip=1; gflag=1; flag=$w; continue ;;
      --manager=*|--tls-*=*|--timeout=*|--config=*) globals+=("$w"); continue ;;
    esac
    gflag=0
    if [[ -z $cmd ]]; then [[ $w == -* ]] || cmd=$w; continue; fi
    case $cmd in
${groupCases}
    esac
    case $cmd in
${scanCases}
    esac
  done
  _flotilla_globals=("\${globals[@]}")
  if ((skip)); then
    case "$cmd:$flag" in
${valueCases}
    esac
    return
  fi
  if [[ -z $cmd ]]; then _flotilla_words=${q(topWords)}; _flotilla_offer; return; fi
  case $cmd in
${groupWords}
    *) _flotilla_words='' ;;
  esac
  if [[ -n $_flotilla_words ]]; then _flotilla_offer; return; fi
  if [[ $cur == -* ]]; then
    case $cmd in
${flagCases}
      *) return ;;
    esac
    _flotilla_offer
    return
  fi
  case $cmd in
${argCases}
  esac`;

  const binWords = bin.map(q).join(' ');
  const names = `_flotilla_names() { "\${_flotilla_bin[@]}" "\${_flotilla_globals[@]}" --timeout 3s ps -a --format '{{.Name}}' 2>/dev/null; }
_flotilla_engines() { "\${_flotilla_bin[@]}" "\${_flotilla_globals[@]}" --timeout 3s engine ls -q 2>/dev/null; }`;

  if (shell === 'bash') {
    return `# bash completion for flotilla. Load it with:  source <(flotilla completion bash)
# or save it:  flotilla completion bash > ~/.local/share/bash-completion/completions/flotilla
_flotilla_bin=(${binWords})
_flotilla_globals=()
${names}
_flotilla_offer() { COMPREPLY=($(compgen -W "$_flotilla_words" -- "$cur")); }
_flotilla_complete() {
  local _flotilla_words=''
${body}
}
_flotilla() {
  COMPREPLY=()
  _flotilla_complete
  # filter values such as engine= take their value right after the =
  if [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == *= ]]; then compopt -o nospace 2>/dev/null; fi
  return 0
}
complete -F _flotilla flotilla
`;
  }
  return `#compdef flotilla
# zsh completion for flotilla. Load it with:  source <(flotilla completion zsh)
# or save it as _flotilla in a directory of your $fpath.
_flotilla_bin=(${binWords})
_flotilla_globals=()
${names}
_flotilla_add() { local -a list; list=(\${=1}); compadd -- "\${list[@]}"; }
_flotilla_offer() { _flotilla_add "$_flotilla_words"; }
_flotilla() {
  local _flotilla_words=''
${body}
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _flotilla "$@"
else
  compdef _flotilla flotilla
fi
`;
}
