import { roles } from '@flotilla/pki';
import { VersionServiceService, type GetVersionResponse, type VersionServiceServer } from '@flotilla/proto/version';
import { unary, type ServiceRegistration } from './server';

/** What a program says of itself: its name and its `buildInfo` (libs/config). */
export interface ProgramVersion {
  program: string;
  version: string;
  build: string;
}

/**
 * flotilla.version.v1.VersionService: the program, version and build behind an address, as its
 * --version prints them. Every server adds it beside its own service; any role may call it.
 */
export function versionService(program: ProgramVersion): ServiceRegistration {
  const answer: GetVersionResponse = { ...program, runtime: process.version };
  const implementation: VersionServiceServer = { getVersion: unary(async () => answer) };
  return { name: 'flotilla.version.v1.VersionService', definition: VersionServiceService, implementation, access: { getVersion: roles } };
}
