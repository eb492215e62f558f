import { flag } from '@flotilla/config';
import { PullImageResponse, EngineStatus } from '@flotilla/proto/cluster';
import { ambiguousNames, defineCommand, engineLabel } from '../command';
import { CliError, ExitCode } from '../errors';
import { credentialsFor, registryOf } from '../registry-auth';
import { PullDisplay } from '../output/progress';
import { allEngines } from '../pages';
import { formatOption, parseFormat, templateData } from '../output/format';

export default defineCommand({
  name: 'pull',
  summary: 'Pull an image on every healthy engine (or those named), with progress per engine',
  usage: '[flags] IMAGE',
  options: {
    engine: flag('string', { repeat: true, placeholder: 'ID|NAME|ADDRESS', description: 'Only on this engine', complete: 'engines' }),
    format: formatOption,
  },
  args: { names: 'IMAGE', min: 1, max: 1 },
  hints: { notFound: 'see flotilla engine ls' },
  examples: ['flotilla pull busybox:latest', 'flotilla pull --engine 127.0.0.1:4250 registry.example:5000/app:1.2'],
  async run(ctx, options, args) {
    const image = args[0];
    const auth = credentialsFor(ctx.io.env, image);
    const format = parseFormat(options.format);
    const engines = await allEngines(ctx.cluster);
    const ambiguous = ambiguousNames(engines);
    const display = format.kind === 'table' ? new PullDisplay(ctx.io.stdout, ctx.io.env, image) : undefined;
    if (display && !options.engine.length) {
      for (const e of engines) if (e.status === EngineStatus.ENGINE_STATUS_HEALTHY) display.expect(e.address, engineLabel(e, ambiguous));
    }
    const failed: string[] = [];
    const succeeded = new Set<string>();
    try {
      for await (const item of ctx.cluster.stream((c, o) => c.pullImage({ image, engines: options.engine, auth }, o))) {
        const key = item.engine?.address ?? '';
        const label = engineLabel(item.engine, ambiguous);
        if (format.kind === 'json') ctx.io.stdout.write(`${JSON.stringify(PullImageResponse.toJSON(item))}\n`);
        else if (format.kind === 'template') ctx.io.stdout.write(`${format.template.render(templateData({ Engine: label, EngineAddress: key, Status: item.progress?.status ?? '', Done: item.done, Error: item.error }, PullImageResponse.toJSON(item)))}\n`);
        if (item.done) {
          if (item.error) failed.push(`${label}: ${item.error}`);
          else succeeded.add(key);
          display?.finish(key, label, item.error);
        } else if (item.progress) {
          display?.progress(key, label, item.progress);
        }
      }
    } finally {
      display?.close();
    }
    if (failed.length) {
      const more = failed.length > 1 ? ` and ${failed.length - 1} more, above` : '';
      const what = `${image} could not be pulled on ${failed.length} of ${failed.length + succeeded.size} engines (${failed[0]}${more})`;
      // Every engine was refused by the registry: the credentials are what to fix.
      const refusals = failed.map((f) => /the registry refused the pull \(([^)]*)\)/.exec(f)?.[1]);
      if (refusals.every((reason) => reason !== undefined)) {
        const registry = registryOf(image);
        const fix = auth ? `the credentials kept for ${registry} were refused: log in again with flotilla login ${registry}` : `log in first: flotilla login ${registry}`;
        throw new CliError(`${image}: the registry refused the pull on ${failed.length} of ${failed.length + succeeded.size} engines (${refusals[0]}); ${fix}`, ExitCode.notAllowed);
      }
      throw new CliError(`${what}; check the image name and that the engines can reach its registry`, ExitCode.error);
    }
    if (!succeeded.size) throw new CliError('no healthy engine to pull on; see flotilla engine ls', ExitCode.precondition);
    if (format.kind === 'table') ctx.io.stdout.write(`${image} is on ${succeeded.size} engine${succeeded.size === 1 ? '' : 's'}\n`);
    return 0;
  },
});
