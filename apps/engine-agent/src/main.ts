#!/usr/bin/env node
import { createLogger, FlotillaError, shutdownOnSignals } from '@flotilla/grpc';
import { HelpRequested } from '@flotilla/config';
import { agentHelp, parseAgentConfig } from './config';
import { DockerodeBackend } from './docker/dockerode-backend';
import { startAgent } from './agent';

async function main(): Promise<void> {
  let config;
  try {
    config = parseAgentConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(agentHelp);
      return;
    }
    process.stderr.write(`flotilla-engine-agent: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ level: config.logLevel, fields: { service: 'engine-agent' } });
  const backend = new DockerodeBackend(config.dockerHost, config.dockerTls);
  const agent = await startAgent({ backend, listen: config.listen, logger, heartbeatIntervalMs: config.heartbeatIntervalMs, tls: config.tls });
  shutdownOnSignals({ shutdown: (grace) => agent.stop(grace) }, logger, config.shutdownGraceMs);
}

main().catch((err: unknown) => {
  const message = err instanceof FlotillaError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err);
  process.stderr.write(`flotilla-engine-agent: ${message}\n`);
  process.exit(1);
});
