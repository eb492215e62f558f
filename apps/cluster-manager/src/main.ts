#!/usr/bin/env node
// First: a V8 flag that must be set before the manager allocates (heap-tuning.ts).
import './heap-tuning';
import { buildInfo, HelpRequested, VersionRequested, versionLine } from '@flotilla/config';
import { createLogger, shutdownOnSignals } from '@flotilla/grpc';
import { managerConfigurationFields, managerHelp, parseManagerConfig } from './config';
import { startManager } from './manager';

async function main(): Promise<void> {
  let config;
  try {
    config = parseManagerConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(managerHelp);
      return;
    }
    if (err instanceof VersionRequested) {
      process.stdout.write(versionLine('flotilla-cluster-manager', buildInfo(__dirname, '@flotilla/cluster-manager')));
      return;
    }
    process.stderr.write(`flotilla-cluster-manager: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ level: config.logLevel, fields: { service: 'cluster-manager' } });
  logger.info('configuration', managerConfigurationFields(config));
  const manager = await startManager(config, logger);
  shutdownOnSignals({ shutdown: (grace) => manager.stop(grace) }, logger, config.shutdownGraceMs);
}

main().catch((err: unknown) => {
  process.stderr.write(`flotilla-cluster-manager: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
