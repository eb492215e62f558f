#!/usr/bin/env node
import { createLogger, shutdownOnSignals } from '@flotilla/grpc';
import { FlotillaError } from '@flotilla/errors';
import { buildInfo, HelpRequested, VersionRequested, versionLine } from '@flotilla/config';
import { agentConfigurationFields, agentHelp, parseAgentConfig } from './config';
import { DockerodeBackend } from './docker/dockerode-backend';
import { startAgent } from './agent';
import { advertiseAddress } from './registration/advertise-address';
import { startAgentRegistration, type AgentRegistration } from './registration/agent-registration';

async function main(): Promise<void> {
  let config;
  try {
    config = parseAgentConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(agentHelp);
      return;
    }
    if (err instanceof VersionRequested) {
      process.stdout.write(versionLine('flotilla-engine-agent', buildInfo(__dirname, '@flotilla/engine-agent')));
      return;
    }
    process.stderr.write(`flotilla-engine-agent: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ level: config.logLevel, fields: { service: 'engine-agent' } });
  logger.info('configuration', agentConfigurationFields(config));
  const backend = new DockerodeBackend(config.dockerHost, config.dockerTls);
  const agent = await startAgent({ backend, listen: config.listen, metricsAddress: config.metricsAddress, logger, heartbeatIntervalMs: config.heartbeatIntervalMs, reconcileIntervalMs: config.reconcileIntervalMs, security: config.security, callerLimits: config.callerLimits, containerPolicy: config.containerPolicy });
  let registration: AgentRegistration | undefined;
  if (config.registration) {
    const r = config.registration;
    registration = startAgentRegistration({
      discovery: r.discovery,
      address: advertiseAddress(config.listen, agent.port, r.advertise),
      heartbeatMs: r.heartbeatMs,
      ttlMs: r.ttlMs,
      engineReachable: () => agent.monitor.engineState.reachable,
      etcdTls: r.etcdTls,
      logger,
    });
  }
  shutdownOnSignals({ shutdown: (grace) => agent.stop(grace) }, logger, config.shutdownGraceMs, () => registration?.stop());
}

main().catch((err: unknown) => {
  const message = err instanceof FlotillaError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err);
  process.stderr.write(`flotilla-engine-agent: ${message}\n`);
  process.exit(1);
});
