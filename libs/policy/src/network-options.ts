import { isIP } from 'node:net';
import { InvalidArgumentError } from '@flotilla/errors';

/** Docker's own networks on every engine: never created or removed through the cluster. */
export const predefinedNetworks: readonly string[] = ['bridge', 'host', 'none'];

/** A network name: Docker's grammar, at most 255 bytes, not a predefined one. */
export function checkNetworkName(field: string, value: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(value) || Buffer.byteLength(value) > 255) throw InvalidArgumentError.field(field, value.slice(0, 80), 'a network name is [a-zA-Z0-9][a-zA-Z0-9_.-]+, at most 255 characters');
  if (predefinedNetworks.includes(value)) throw InvalidArgumentError.field(field, value, `${predefinedNetworks.join(', ')} are Docker's own networks on every engine`);
  return value;
}

/** A network by name or ID (inspect, remove): required, no spaces or slashes (it goes into Docker's URL). */
export function checkNetworkReference(field: string, value: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(value) || Buffer.byteLength(value) > 255) throw InvalidArgumentError.field(field, value.slice(0, 80), 'a network name or ID is [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 255 characters');
  return value;
}

export interface NetworkShape {
  driver: string;
  subnet: string;
  gateway: string;
}

/** Bridge networks only (other drivers reach the host's interfaces); a subnet in CIDR notation and a gateway within its family. */
export function checkNetworkShape(shape: NetworkShape): NetworkShape & { driver: 'bridge' } {
  const driver = shape.driver.trim() || 'bridge';
  if (driver !== 'bridge') throw InvalidArgumentError.field('driver', shape.driver, 'only the "bridge" driver is allowed (others reach the host\'s interfaces)');
  const subnet = shape.subnet.trim();
  const gateway = shape.gateway.trim();
  let family = 0;
  if (subnet) {
    const [address, bits, ...rest] = subnet.split('/');
    family = isIP(address ?? '');
    const max = family === 6 ? 128 : 32;
    if (!family || rest.length || !/^\d{1,3}$/.test(bits ?? '') || Number(bits) > max) throw InvalidArgumentError.field('subnet', subnet, 'expected CIDR notation, e.g. 10.20.0.0/24');
  }
  if (gateway) {
    if (!subnet) throw InvalidArgumentError.field('gateway', gateway, 'a gateway needs a subnet');
    if (isIP(gateway) !== family) throw InvalidArgumentError.field('gateway', gateway, `expected an IPv${family} address in ${subnet}`);
  }
  return { driver, subnet, gateway };
}
