// What a process listens on, read from /proc: for tests that prove a service is not reachable.
import * as fs from 'node:fs';

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** The rows of the kernel's TCP tables (IPv4 and IPv6), split into columns. */
function* tcpRows(): Generator<string[]> {
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9) yield cols;
    }
  }
}

const portOf = (hexAddress: string): number => parseInt(hexAddress.split(':')[1], 16);

/** TCP ports (IPv4 and IPv6) on which `pid` holds a listening socket. */
export function listeningTcpPorts(pid: number): number[] {
  const mine = socketInodes(pid);
  const ports: number[] = [];
  // local_address is HEX_IP:HEX_PORT, st 0A is LISTEN, inode is column 10.
  for (const cols of tcpRows()) if (cols[3] === '0A' && mine.has(cols[9])) ports.push(portOf(cols[1]));
  return ports;
}

/** How many established TCP connections `pid` holds to `remotePort` (for leak tests). */
export function establishedTcpConnections(pid: number, remotePort: number): number {
  const mine = socketInodes(pid);
  let count = 0;
  // rem_address is HEX_IP:HEX_PORT, st 01 is ESTABLISHED.
  for (const cols of tcpRows()) if (cols[3] === '01' && mine.has(cols[9]) && portOf(cols[2]) === remotePort) count++;
  return count;
}

/** PIDs whose command line mentions `text` (e.g. an engine's socket path). */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** A process's name (/proc/PID/comm), or '' when it is gone. */
export function processName(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}
