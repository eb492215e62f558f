import { parseHostPort, type TlsFiles } from '@flotilla/grpc';
import { InvalidArgumentError } from '@flotilla/errors';

export type DockerEndpoint =
  | { kind: 'unix'; socketPath: string; text: string }
  | { kind: 'tcp'; host: string; port: number; tls: boolean; text: string };

/** Parses `unix:///path` or `tcp://host:port` (TLS when certificate files are given). */
export function parseDockerEndpoint(field: string, value: string, tls: TlsFiles | undefined): DockerEndpoint {
  const text = value.trim();
  if (text.startsWith('unix://')) {
    const socketPath = text.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw InvalidArgumentError.field(field, value, 'a unix endpoint needs an absolute path, e.g. unix:///var/run/docker.sock');
    return { kind: 'unix', socketPath, text };
  }
  const tcp = /^(tcp|https?):\/\/(.+)$/.exec(text);
  if (tcp) {
    const { host, port } = parseHostPort(field, tcp[2].replace(/\/$/, ''));
    const secure = tcp[1] === 'https' || Boolean(tls && (tls.ca || tls.cert));
    return { kind: 'tcp', host, port, tls: secure, text };
  }
  throw InvalidArgumentError.field(field, value, 'expected unix:///path/to/docker.sock or tcp://host:port');
}
