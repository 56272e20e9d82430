// A TAP device bound to a file descriptor. The registry's node-tuntap2 build
// does the one ioctl (TUNSETIFF, IFF_TAP | IFF_NO_PI) that binds a fresh
// descriptor of /dev/net/tun to a new TAP; it cannot choose the name, so the
// kernel's `tapN` is renamed while down, optionally moved into a namespace
// (a lab host's) and renamed again there, given its MTU and MAC, and brought
// up. The descriptor is then read and written by worker threads (tap-port.ts);
// its stream API is never used (DESIGN.md "Threads").
//
// The TAP is not persistent: if the process dies, the kernel closes the
// descriptor and deletes the device. A worker blocked in read(2) is not woken
// by close(2); deleting the link wakes it (read returns EFAULT), so remove()
// deletes the link first, then closes.
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ip, IpError, linkExists, deleteLink } from './ip.js';

/** Linux's IFNAMSIZ less the terminating NUL. */
export const IFNAME_MAX = 15;

interface TuntapAddon {
  tuntapInit(fd: number, isTap: boolean): string;
}

let addon: TuntapAddon | null = null;
function loadAddon(): TuntapAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  try {
    addon = require('@xiaobaidadada/node-tuntap2-wintun/build/Release/tuntap2Addon.node') as TuntapAddon;
  } catch (e) {
    throw new TapError(
      `the TAP addon is not built (${(e as Error).message.split('\n')[0]})`,
      'run `npm ci` (or `npm rebuild @xiaobaidadada/node-tuntap2-wintun`) with a C++ toolchain (build-essential, python3) installed',
    );
  }
  return addon;
}

/** A setup failure with the one thing the user should do about it. */
export class TapError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

export interface TapSpec {
  /** The device name (the topology edge's `dev`). */
  readonly dev: string;
  readonly mtu: number;
  /** Move the device into this namespace (a lab host's); null: stay here. */
  readonly netns?: string | null;
  /** Its name inside `netns` (the host's interface, e.g. eth0); default `dev`. */
  readonly ifname?: string;
  /** Interface MAC (a lab host's); default: the kernel's random one. */
  readonly mac?: string;
  /** Bring the device up (default true). */
  readonly up?: boolean;
}

export function validIfname(name: string): boolean {
  return name.length > 0 && name.length <= IFNAME_MAX && !/[\s/:]/.test(name) && name !== '.' && name !== '..';
}

/** Refuse early with a clear reason (the kernel's errors say less). */
export function checkTapEnvironment(): void {
  if (process.platform !== 'linux') throw new TapError(`TAP devices need Linux (this is ${process.platform})`, 'run dpemu on Linux');
  if (process.getuid?.() !== 0) {
    throw new TapError('creating TAP devices needs root (CAP_NET_ADMIN)', 'run as root (sudo dpemu run ...); in Docker: --cap-add NET_ADMIN --device /dev/net/tun');
  }
  let fd: number;
  try {
    fd = openSync('/dev/net/tun', 'r+');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TapError(
      `cannot open /dev/net/tun (${code})`,
      code === 'ENOENT'
        ? 'load the tun module (modprobe tun); in Docker pass --device /dev/net/tun'
        : 'check permissions on /dev/net/tun; in Docker pass --device /dev/net/tun --cap-add NET_ADMIN',
    );
  }
  closeSync(fd);
  loadAddon();
}

export class TapDevice {
  private closed = false;

  private constructor(
    readonly spec: TapSpec,
    readonly fd: number,
    /** The name the device has now, in `netns`. */
    readonly name: string,
    readonly netns: string | null,
  ) {}

  /**
   * Create the TAP `spec.dev` (in `spec.netns` as `spec.ifname` when given).
   * Fails with TapError when the name is taken, leaving nothing behind.
   */
  static async create(spec: TapSpec): Promise<TapDevice> {
    const netns = spec.netns ?? null;
    const finalName = netns ? (spec.ifname ?? spec.dev) : spec.dev;
    for (const n of [spec.dev, finalName]) {
      if (!validIfname(n)) throw new TapError(`"${n}" is not a valid interface name`, `use at most ${IFNAME_MAX} characters, no spaces, '/' or ':'`);
    }
    if (await linkExists(spec.dev)) {
      throw new TapError(`the TAP name ${spec.dev} is taken (a device of that name exists)`, `delete it (ip link del ${spec.dev}) or give the edge another dev in the topology`);
    }
    if (netns && (await linkExists(finalName, netns))) {
      throw new TapError(`${finalName} already exists in namespace ${netns}`, `delete it (ip -n ${netns} link del ${finalName}) or the namespace (ip netns del ${netns})`);
    }
    const a = loadAddon();
    const fd = openSync('/dev/net/tun', 'r+');
    let kname: string;
    try {
      kname = a.tuntapInit(fd, true);
    } catch (e) {
      closeSync(fd);
      throw new TapError(`TUNSETIFF failed: ${(e as Error).message}`, 'run as root with /dev/net/tun available');
    }
    // From here the device exists; closing fd deletes it (not persistent).
    let where: string | null = null;
    let name = kname;
    try {
      // A new TAP is down: rename now (a running device cannot be renamed).
      await ip(['link', 'set', 'dev', kname, 'name', spec.dev]);
      name = spec.dev;
      if (netns) {
        await ip(['link', 'set', 'dev', name, 'netns', netns]);
        where = netns;
        if (finalName !== name) {
          await ip(['link', 'set', 'dev', name, 'name', finalName], netns);
          name = finalName;
        }
      }
      const set = ['link', 'set', 'dev', name, 'mtu', String(spec.mtu)];
      if (spec.mac) set.push('address', spec.mac);
      await ip(set, where);
      if (spec.up !== false) await ip(['link', 'set', 'dev', name, 'up'], where);
    } catch (e) {
      closeSync(fd); // deletes the TAP wherever it is
      if (e instanceof IpError && e.exists) {
        throw new TapError(`the TAP name ${spec.dev} is taken (${e.message})`, `delete the other device or give the edge another dev in the topology`);
      }
      if (e instanceof IpError) throw new TapError(`setting up TAP ${spec.dev} failed: ${e.message}`, 'check the edge and host settings in the topology');
      throw e;
    }
    return new TapDevice(spec, fd, name, where);
  }

  /** Set the MTU of the running device (reload with a changed MTU). */
  async setMtu(mtu: number): Promise<void> {
    await ip(['link', 'set', 'dev', this.name, 'mtu', String(mtu)], this.netns);
  }

  /** Whether the device still exists (someone may have deleted it). */
  exists(): Promise<boolean> {
    return linkExists(this.name, this.netns);
  }

  /**
   * Delete the device (waking a worker blocked in read) and close the
   * descriptor. Safe to call twice and when the device is already gone.
   */
  async remove(): Promise<void> {
    if (this.closed) return;
    try {
      await deleteLink(this.name, this.netns);
    } catch {
      // The namespace itself may be gone; closing below deletes the device anyway.
    }
    this.close();
  }

  /** Close the descriptor only (the kernel deletes the non-persistent TAP). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}
