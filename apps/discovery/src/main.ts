#!/usr/bin/env node
import { buildInfo, HelpRequested, VersionRequested, versionLine } from '@flotilla/config';
import { createLogger, shutdownOnSignals } from '@flotilla/grpc';
import { FlotillaError } from '@flotilla/errors';
import { discoveryConfigurationFields, discoveryHelp, parseDiscoveryConfig } from './config';
import { startDiscovery } from './discovery';

async function main(): Promise<void> {
  let config;
  try {
    config = parseDiscoveryConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(discoveryHelp);
      return;
    }
    if (err instanceof VersionRequested) {
      process.stdout.write(versionLine('flotilla-discovery', buildInfo(__dirname, '@flotilla/discovery-service')));
      return;
    }
    process.stderr.write(`flotilla-discovery: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ level: config.logLevel, fields: { service: 'discovery' } });
  logger.info('configuration', discoveryConfigurationFields(config));
  const discovery = await startDiscovery(config, logger);
  shutdownOnSignals({ shutdown: (grace) => discovery.stop(grace) }, logger, config.shutdownGraceMs);
}

main().catch((err: unknown) => {
  const message = err instanceof FlotillaError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`flotilla-discovery: ${message}\n`);
  process.exit(1);
});
