// The `ip` command (iproute2) as the daemon's setup-time tool: links, names,
// MTUs, namespaces, addresses, routes and neighbours. Setup and teardown only,
// never per packet; asynchronous so the data path keeps running meanwhile.
import { execFile } from 'node:child_process';

export class IpError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
    readonly code: number | null,
  ) {
    super(`ip ${argv.join(' ')}: ${stderr.trim() || `exit ${code}`}`);
  }
  /** The kernel said the object exists ("File exists", "already exists"). */
  get exists(): boolean {
    return /File exists|already exists/i.test(this.stderr);
  }
  /** The object was not there ("Cannot find device", "No such ..."). */
  get missing(): boolean {
    return /Cannot find device|does not exist|No such (file|device|process)|Cannot open network namespace/i.test(this.stderr);
  }
}

/** Run `ip [-n NETNS] ARGS...`; resolves with stdout, rejects with IpError. */
export function ip(args: readonly string[], netns?: string | null): Promise<string> {
  const argv = netns ? ['-n', netns, ...args] : [...args];
  return new Promise((resolve, reject) => {
    execFile('ip', argv, { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code = typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : null;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new IpError(argv, 'the ip command is missing: install iproute2 (apt-get install iproute2)', null));
      }
      reject(new IpError(argv, stderr || err.message, code));
    });
  });
}

/** Run a command inside a namespace (`ip netns exec NETNS CMD...`). */
export function inNetns(netns: string, cmd: readonly string[]): Promise<string> {
  return ip(['netns', 'exec', netns, ...cmd]);
}

/** Whether link `dev` exists (in `netns`, or the daemon's own namespace). */
export async function linkExists(dev: string, netns?: string | null): Promise<boolean> {
  try {
    await ip(['link', 'show', 'dev', dev], netns);
    return true;
  } catch (e) {
    if (e instanceof IpError && e.missing) return false;
    throw e;
  }
}

export async function netnsExists(name: string): Promise<boolean> {
  const out = await ip(['netns', 'list']);
  return out.split('\n').some((l) => l.split(' ')[0] === name);
}

/** Delete a link by exact name; false when it was not there. */
export async function deleteLink(dev: string, netns?: string | null): Promise<boolean> {
  try {
    await ip(['link', 'del', 'dev', dev], netns);
    return true;
  } catch (e) {
    if (e instanceof IpError && e.missing) return false;
    throw e;
  }
}

/** Delete a namespace by exact name; false when it was not there. */
export async function deleteNetns(name: string): Promise<boolean> {
  try {
    await ip(['netns', 'del', name]);
    return true;
  } catch (e) {
    if (e instanceof IpError && e.missing) return false;
    throw e;
  }
}
