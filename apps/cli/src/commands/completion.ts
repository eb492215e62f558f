import * as path from 'node:path';
import { defineCommand, type AnyCommand } from '../command';
import { completionScript } from '../completion';
import { UsageError } from '../errors';
import { globalOptions } from '../settings';

/** `flotilla completion bash|zsh`; the command table is passed in to avoid an import cycle. */
export function completionCommand(commands: () => readonly AnyCommand[]) {
  return defineCommand({
    name: 'completion',
    summary: 'Print the shell completion script for bash or zsh',
    usage: 'bash|zsh',
    description: `bash:  source <(flotilla completion bash)     (or save it in ~/.local/share/bash-completion/completions/flotilla)
zsh:   source <(flotilla completion zsh)      (or save it as _flotilla in a directory of your $fpath)
Container names and engine addresses are completed by asking the cluster-manager.`,
    options: {},
    args: { names: 'bash|zsh', min: 1, max: 1, complete: ['bash', 'zsh'] },
    async run(ctx, _options, args) {
      const shell = args[0];
      if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`completion for ${JSON.stringify(shell)} is not available; use bash or zsh`);
      // Completion calls this same CLI back (also when it is run as `node .../main.js` through an alias).
      const script = process.argv[1] ? path.resolve(process.argv[1]) : '';
      const bin = script.endsWith('.js') ? [process.execPath, script] : [script || 'flotilla'];
      ctx.io.stdout.write(completionScript(shell, commands(), globalOptions, bin));
      return 0;
    },
  });
}
