// A real Open vSwitch (Debian's openvswitch-switch) for tests that hold dpemu
// to it: ovsdb-server and ovs-vswitchd in a temporary directory, on the
// dummy datapath (`--enable-dummy=override --disable-system`), so no kernel
// module, no kernel interface and no system service is touched. Stopped by
// the pids it wrote, and its directory removed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from './tools.js';
import type { OvsBridge } from '../../src/ofproto/bridge.js';
import { OFPP } from '../../src/ofproto/actions.js';

export class RealOvs {
  private constructor(readonly dir: string) {}

  static start(): RealOvs {
    requireTool('ovs-vswitchd', 'openvswitch-switch');
    const dir = mkdtempSync(join(tmpdir(), 'dpe-ovs-'));
    const ovs = new RealOvs(dir);
    try {
      ovs.run('ovsdb-tool', ['create', join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema']);
      ovs.run('ovsdb-server', [join(dir, 'conf.db'), `--remote=punix:${join(dir, 'db.sock')}`, `--pidfile=${join(dir, 'ovsdb.pid')}`,
        `--unixctl=${join(dir, 'ovsdb.ctl')}`, `--log-file=${join(dir, 'ovsdb.log')}`, '--detach']);
      ovs.run('ovs-vswitchd', [`unix:${join(dir, 'db.sock')}`, '--enable-dummy=override', '--disable-system',
        `--pidfile=${join(dir, 'vswitchd.pid')}`, `--unixctl=${join(dir, 'vswitchd.ctl')}`, `--log-file=${join(dir, 'vswitchd.log')}`, '--detach']);
    } catch (e) {
      ovs.stop();
      throw e;
    }
    return ovs;
  }

  /** ovs-vsctl, waiting for ovs-vswitchd to apply the change. */
  vsctl(args: string[]): string {
    return this.run('ovs-vsctl', [`--db=unix:${join(this.dir, 'db.sock')}`, '--timeout=10', ...args]);
  }

  /** A bridge as dpemu holds it: its fail_mode, and its ports with their ofports, VLAN settings, types and options. */
  addBridge(br: OvsBridge): void {
    this.vsctl(['add-br', br.name, '--', 'set', 'bridge', br.name, `fail_mode=${br.failMode}`]);
    for (const p of br.portList) {
      if (p.ofport === OFPP.LOCAL) continue;
      const args = ['add-port', br.name, p.name];
      if (p.tag !== undefined) args.push(`tag=${p.tag}`);
      if (p.trunks !== undefined) args.push(`trunks=${p.trunks.join(',')}`);
      if (p.vlanMode !== (p.tag !== undefined ? 'access' : 'trunk')) args.push(`vlan_mode=${p.vlanMode}`);
      args.push('--', 'set', 'interface', p.name, `ofport_request=${p.ofport}`);
      if (p.type !== 'system' && p.type !== 'tap') args.push(`type=${p.type}`);
      for (const [k, v] of Object.entries(p.options)) if (v !== undefined) args.push(`options:${k}=${v}`);
      this.vsctl(args);
    }
  }

  /** ovs-ofctl against `bridge`'s management socket. */
  ofctl(cmd: string, bridge: string, ...args: string[]): string {
    return this.run('ovs-ofctl', [cmd, `unix:${join(this.dir, `${bridge}.mgmt`)}`, ...args]);
  }

  /** ovs-ofctl as ofctl(), failing or not: its exit status and output. */
  tryOfctl(cmd: string, bridge: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
    return this.spawn('ovs-ofctl', [cmd, `unix:${join(this.dir, `${bridge}.mgmt`)}`, ...args]);
  }

  /** Flows (one a line, ovs-ofctl syntax) replace `bridge`'s table. */
  replaceFlows(bridge: string, flows: readonly string[]): void {
    const file = join(this.dir, `${bridge}.flows`);
    writeFileSync(file, flows.join('\n') + '\n');
    this.ofctl('del-flows', bridge);
    this.ofctl('add-flows', bridge, file);
  }

  /** `bridge`'s flows as dpemu's `ofctl dump-flows` printed them, less their statistics (the syntax ovs-ofctl reads back). */
  copyFlows(bridge: string, dumpFlows: string): void {
    this.replaceFlows(bridge, dumpFlows.split('\n').slice(1).filter(Boolean)
      .map((l) => l.replace(/ (duration|n_packets|n_bytes|idle_age|hard_age)=[^,]*,/g, '').trim()));
  }

  appctl(args: string[]): string {
    return this.run('ovs-appctl', ['-t', join(this.dir, 'vswitchd.ctl'), ...args]);
  }

  stop(): void {
    for (const name of ['vswitchd.pid', 'ovsdb.pid']) {
      let pid = 0;
      try {
        pid = Number(readFileSync(join(this.dir, name), 'utf8').trim());
      } catch {
        continue; // never started
      }
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private run(cmd: string, args: string[]): string {
    const r = this.spawn(cmd, args);
    assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  private spawn(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
    const env = { ...process.env, OVS_RUNDIR: this.dir, OVS_DBDIR: this.dir, OVS_LOGDIR: this.dir, OVS_SYSCONFDIR: this.dir };
    const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 20_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr || String(r.error ?? '') };
  }
}

/** Splits a datapath action list at its top-level commas. */
export function topLevel(list: string): string[] {
  const out: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(list.slice(start, i));
      start = i + 1;
    }
  }
  if (start < list.length) out.push(list.slice(start));
  return out;
}
