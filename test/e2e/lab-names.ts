// Names for what an end-to-end test creates in the kernel (namespaces, TAPs),
// unique per test file and run so parallel files cannot collide, always with
// the project's dpe- prefix, and removed by exact name, also on failure.
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** 6 characters: leaves room for dpe + tag + role within IFNAMSIZ (15). */
export function uniqueTag(): string {
  return (process.pid % 1296).toString(36).padStart(2, '0') + randomBytes(2).toString('hex');
}

export function sh(cmd: string, args: string[], timeoutMs = 10_000): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Run without blocking the event loop (the engine under test runs on it) and
 * give the exit status and output; never rejects.
 */
export function run(cmd: string, args: string[], timeoutMs = 15_000, env?: Record<string, string>): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, ...(env ? { env: { ...process.env, ...env } } : {}) }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ status, out: `${stdout}${stderr}` });
    });
  });
}

export type Ran = { status: number | null; out: string; err: string };

/** As run(), with stdout and stderr apart. */
export function runApart(cmd: string, args: string[], timeoutMs = 40_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs }, (err, out, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ status, out, err: stderr });
    });
  });
}

/**
 * Start `cmd`; resolves once `ready` holds for what it printed so far (stdout, stderr), with a promise of how
 * it ended, as runApart() gives it (killed after `timeoutMs`); rejects if it ends before. For a test that
 * must act after a tool has reached some point, not after a fixed pause, which a loaded box outruns.
 */
export function startUntil(cmd: string, args: string[], ready: (out: string, err: string) => boolean, timeoutMs = 40_000): Promise<{ ended: Promise<Ran> }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '', up = false;
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    const ended = new Promise<Ran>((r) => c.on('close', (status) => r({ status, out, err })));
    const check = (): void => {
      if (!up && ready(out, err)) {
        up = true;
        resolve({ ended });
      }
    };
    c.stdout.setEncoding('utf8').on('data', (s: string) => ((out += s), check()));
    c.stderr.setEncoding('utf8').on('data', (s: string) => ((err += s), check()));
    void ended.then((r) => {
      clearTimeout(t);
      if (!up) reject(new Error(`${cmd} ${args.join(' ')} ended (${r.status}) before it was ready:\n${out}${err}`));
    });
  });
}

/**
 * A real tcpdump in namespace `ns`, once it listens (its "listening on" line comes after the filter is
 * set). A fixed pause before the traffic instead was a race on a loaded box: attaching took up to 0.7 s at load 23.
 */
export function tcpdumpIn(ns: string, args: string[], timeoutMs = 40_000): Promise<{ ended: Promise<Ran> }> {
  return startUntil('ip', ['netns', 'exec', ns, 'tcpdump', ...args], (_out, err) => err.includes('listening on'), timeoutMs);
}

/**
 * Wait until `look()` has not changed for 1.1 s (`maxMs` at most): a device set down or up reaches its veth
 * peer's operstate and the routes' linkdown flag through linkwatch, which batches a non-urgent event up to a
 * second, and later on a loaded box, where one look may also take seconds.
 */
export async function settled(look: () => string, maxMs = 30_000): Promise<void> {
  let last = look(), since = Date.now();
  for (const until = since + maxMs; Date.now() < until && Date.now() - since < 1100; ) {
    await new Promise((r) => setTimeout(r, 200));
    const now = look();
    if (now !== last) [last, since] = [now, Date.now()];
  }
}

/** Run synchronously (blocks the event loop: setup and cleanup only); never throws. */
export function tryRun(cmd: string, args: string[], timeoutMs = 15_000): { status: number | null; out: string } {
  for (let attempt = 1; ; attempt++) {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    // ip names a link-netns by asking the kernel for the id of each file in /var/run/netns (RTM_GETNSID); one another
    // test is deleting at that moment is no namespace any more, and ip prints the kernel's refusal (seen in CI with
    // two test files at once). Not this test's answer: read again.
    if (cmd !== 'ip' || attempt === 5 || !out.includes('Error: Peer netns reference is invalid.')) return { status: r.status, out };
  }
}

/**
 * `ip netns exec NS sh -c NO_DNS sh ARGS`: iptables-legacy ARGS with no
 * name server to reach, as dpemu takes an emulated namespace to be:
 * resolv.conf names ::1 (IPv6 is off in the namespaces the tests run it
 * in, and IPv6 would not touch the IPv4 counters compared anyway), bind-
 * mounted from a tmpfs in the mount namespace `ip netns exec` makes for the
 * command alone. A reverse lookup missing /etc/hosts then ends at once in
 * TRY_AGAIN, and iptables goes on to /etc/networks. The machine's own name
 * server would be asked through the namespace's routes (the resolver's
 * timeouts, the same TRY_AGAIN), and a 127.0.0.1 one through OUTPUT (its
 * packets counted). Both sides read this machine's /etc/hosts (NS's own
 * where ip netns exec mounts one), networks, services and protocols;
 * nsswitch.conf is mounted over too, with the
 * sources dpemu models (`hosts: files dns`, the rest `files`), so another
 * machine's `hosts:` line (myhostname, resolve) does not tell them apart.
 */
export const NO_DNS = 'mount -t tmpfs dpe /mnt && echo "nameserver ::1" >/mnt/resolv.conf && mount --bind /mnt/resolv.conf /etc/resolv.conf && ' +
  'printf "hosts: files dns\\nnetworks: files\\nservices: files\\nprotocols: files\\n" >/mnt/nsswitch.conf && mount --bind /mnt/nsswitch.conf /etc/nsswitch.conf && ' +
  'exec iptables-legacy "$@"';

/** Namespaces and links to delete after a test, by exact name. */
export class KernelObjects {
  private readonly netns = new Set<string>();
  private readonly links = new Set<string>();

  addNetns(name: string): string {
    if (!name.startsWith('dpe-')) throw new Error(`test namespaces start with dpe- (${name})`);
    sh('ip', ['netns', 'add', name]);
    this.netns.add(name);
    sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /**
   * A veth pair made as `tmp`a/`tmp`b (owned, deleted at cleanup), its ends
   * moved into namespaces `a` and `b` as `aDev` and `bDev`, up, with `mtu`
   * on both and `aMac` on `aDev` when given.
   */
  veth(tmp: string, a: string, aDev: string, b: string, bDev: string, { mtu, aMac }: { mtu?: string; aMac?: string } = {}): void {
    const ta = `${tmp}a`, tb = `${tmp}b`;
    this.ownLink(ta);
    sh('ip', ['link', 'add', ta, ...(aMac ? ['address', aMac] : []), 'type', 'veth', 'peer', 'name', tb]);
    sh('ip', ['link', 'set', ta, 'netns', a, 'name', aDev]);
    sh('ip', ['link', 'set', tb, 'netns', b, 'name', bDev]);
    for (const [n, dev] of [[a, aDev], [b, bDev]] as const) sh('ip', ['-n', n, 'link', 'set', dev, ...(mtu ? ['mtu', mtu] : []), 'up']);
  }

  /** Remember a namespace or link something else created, for cleanup. */
  ownNetns(name: string): void {
    this.netns.add(name);
  }
  ownLink(name: string): void {
    this.links.add(name);
  }

  /** Delete namespaces and links something else made (a daemon, whatever it got to), by exact name. */
  static remove(netns: readonly string[], links: readonly string[]): void {
    const objs = new KernelObjects();
    for (const n of netns) objs.ownNetns(n);
    for (const l of links) objs.ownLink(l);
    objs.cleanup();
  }

  cleanup(): void {
    for (const l of this.links) tryRun('ip', ['link', 'del', 'dev', l]);
    for (const n of this.netns) tryRun('ip', ['netns', 'del', n]);
    this.links.clear();
    this.netns.clear();
  }

  /** What of ours is still in the kernel (should be nothing after cleanup). */
  static leftovers(tag: string): string[] {
    const ns = tryRun('ip', ['netns', 'list']).out.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.includes(tag));
    const links = tryRun('ip', ['-o', 'link', 'show']).out.split('\n').map((l) => l.split(': ')[1]?.split('@')[0] ?? '').filter((n) => n.includes(tag));
    return [...ns, ...links];
  }
}

/**
 * A one-bridge lab topology: node n1's Linux bridge br0 joins TAP edges pa
 * (device `devA`) and pb (`devB`); `hosts` is the file's `hosts:` block.
 */
export function bridgeLabYaml(name: string, devA: string, devB: string, hosts: string): string {
  return `version: 1
name: ${name}
nodes:
  n1:
    linux_bridges:
      br0:
        ports:
          pa: { port_no: 1, mtu: 1500 }
          pb: { port_no: 2, mtu: 1500 }
    edges:
      pa: { kind: tap, dev: ${devA} }
      pb: { kind: tap, dev: ${devB} }
hosts:
${hosts}`;
}

/**
 * Runs `body` with `hosts` as /etc/netns/NS/hosts of each of `namespaces`
 * (what `ip netns exec NS` bind-mounts over /etc/hosts, and what dpemu's
 * tools read for an emulated namespace of that name), then removes those
 * folders, also when it fails. Refuses a folder that is already there.
 */
export async function withNetnsHosts(namespaces: string[], hosts: string, body: () => Promise<void>): Promise<void> {
  const dirs = namespaces.map((n) => join('/etc/netns', n));
  for (const x of dirs) if (existsSync(x)) throw new Error(`${x} is not this test's`);
  try {
    for (const x of dirs) {
      mkdirSync(x, { recursive: true });
      writeFileSync(join(x, 'hosts'), hosts);
    }
    await body();
  } finally {
    for (const x of dirs) rmSync(x, { recursive: true, force: true });
  }
}
