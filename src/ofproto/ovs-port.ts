// One port of an OVS bridge as OVSDB configures it (Port + Interface rows):
// ofport number, interface type, VLAN mode with tag/trunks, tunnel options.
// VLAN settings follow bridge.c port_configure and ofproto-dpif bundle_set.
import type { Port } from '../datapath/element.js';

export type OvsPortType = 'system' | 'internal' | 'patch' | 'vxlan' | 'tap';
export type VlanMode = 'access' | 'trunk' | 'native-tagged' | 'native-untagged';

export interface OvsPortOptions {
  /** patch: the peer port's name (on another bridge of the same node). */
  peer?: string;
  /** vxlan: dotted quads, or 'flow' to take them from the flow's tun_src/tun_dst. */
  local_ip?: string;
  remote_ip?: string;
  /** vxlan: 'flow' or a number; `key` sets both. Absent: key 0. */
  in_key?: string | number;
  out_key?: string | number;
  key?: string | number;
  /** vxlan: set DF on the outer IPv4 header (OVS default true). */
  df_default?: boolean | string;
  /** vxlan: UDP destination port (default 4789). */
  dst_port?: number;
}

/**
 * OpenFlow port config bits (enum ofputil_port_config) a port_mod sets.
 * PORT_DOWN is the device's state (Port.up), not kept here.
 */
export const OFPPC = {
  PORT_DOWN: 1 << 0,
  NO_STP: 1 << 1,
  NO_RECV: 1 << 2,
  NO_RECV_STP: 1 << 3,
  NO_FLOOD: 1 << 4,
  NO_FWD: 1 << 5,
  NO_PACKET_IN: 1 << 6,
} as const;

export interface OvsPortConfig {
  /** OpenFlow port number; the lowest free one when absent (OVS's ofport allocation). */
  ofport?: number;
  type?: OvsPortType;
  tag?: number;
  trunks?: number[];
  vlanMode?: VlanMode;
  options?: OvsPortOptions;
  /** OFPPC_NO_FLOOD (ovs-ofctl mod-port no-flood). */
  noFlood?: boolean;
}

/** A tunnel key setting: 'flow' (from/to the flow's tun_id) or a fixed key. */
export type TunKey = { flow: true } | { flow: false; key: number };

function parseKey(v: string | number | undefined): TunKey {
  if (v === 'flow') return { flow: true };
  if (v === undefined || v === '') return { flow: false, key: 0 };
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad tunnel key ${String(v)}`);
  return { flow: false, key: n };
}

function parseIp(v: string | undefined, what: string): number | 'flow' | null {
  if (v === undefined) return null;
  if (v === 'flow') return 'flow';
  const p = v.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) throw new Error(`bad ${what} ${v}`);
  return p.reduce((a, x) => a * 256 + Number(x), 0);
}

export class OvsPort {
  readonly type: OvsPortType;
  // The VLAN settings change with the Port row's tag (setTag).
  vlanMode!: VlanMode;
  /** The bundle's VLAN: the access tag or native VLAN; -1 on plain trunks (bundle->vlan). */
  vlan!: number;
  /** VLANs a trunk carries; null means all (bundle->trunks). */
  trunkSet!: Uint8Array | null;
  tag: number | undefined;
  readonly trunks: number[] | undefined;
  /** The Port row's vlan_mode; undefined: implied by the tag. */
  readonly vlanModeColumn: VlanMode | undefined;
  readonly options: OvsPortOptions;
  /** OFPPC bits but PORT_DOWN (ovs-ofctl mod-port): NO_RECV, NO_FWD and NO_FLOOD change what the bridge does. */
  config: number;
  /** Engine time (ms) the port joined its bridge: ofport->created, dump-ports' duration. */
  created = 0;
  /**
   * A port ovs-vsctl add-port created at runtime: its datapath port number
   * (the kernel's lowest free one then) and, for an internal port, the
   * ifindex its new device got in the root namespace, and the Interface's
   * external_ids it was added with (Neutron's iface-id, attached-mac, ...)
   * and its ofport_request, if any. Undefined for the topology's ports
   * (numbered from the topology: datapath-ports.ts, root-netns.ts).
   */
  plugged?: { odp: number | null; ifindex: number; externalIds: readonly (readonly [string, string])[]; ofportRequest?: number };
  /**
   * Bytes to add to the engine's tx/rx byte counts for OVS's figure
   * (dump-ports): a patch or tunnel port counts each packet's length where it
   * entered the node's datapath, the engine the frame crossing.
   */
  txBytesAdj = 0;
  rxBytesAdj = 0;
  /** A patch or tunnel port: no device, OVS counts it with the datapath flow's stats. */
  readonly vport: boolean;
  // Tunnel settings (vxlan only).
  readonly inKey: TunKey;
  readonly outKey: TunKey;
  readonly localIp: number | 'flow' | null;
  readonly remoteIp: number | 'flow' | null;
  readonly dfDefault: boolean;
  readonly dstPort: number;

  /** Left out when flooding (FLOOD, NORMAL's flood). */
  get noFlood(): boolean {
    return (this.config & OFPPC.NO_FLOOD) !== 0;
  }

  constructor(
    readonly name: string,
    readonly ofport: number,
    readonly port: Port,
    cfg: OvsPortConfig,
  ) {
    this.type = cfg.type ?? 'system';
    this.vport = this.type === 'patch' || this.type === 'vxlan';
    this.options = { ...(cfg.options ?? {}) };
    this.config = cfg.noFlood ? OFPPC.NO_FLOOD : 0;
    this.trunks = cfg.trunks?.slice();
    this.vlanModeColumn = cfg.vlanMode;
    this.setTag(cfg.tag);
    const o = this.options;
    this.inKey = parseKey(o.in_key ?? o.key);
    this.outKey = parseKey(o.out_key ?? o.key);
    this.localIp = parseIp(o.local_ip, 'local_ip');
    this.remoteIp = parseIp(o.remote_ip, 'remote_ip');
    this.dfDefault = o.df_default === undefined ? true : o.df_default === true || o.df_default === 'true';
    this.dstPort = o.dst_port ?? 4789;
    if (this.type === 'vxlan' && this.remoteIp === null) throw new Error(`vxlan port ${name} needs options:remote_ip`);
    if (this.type === 'patch' && !o.peer) throw new Error(`patch port ${name} needs options:peer`);
  }

  /**
   * The Port row's tag (port_configure, then bundle_set's VLAN settings);
   * returns whether the bundle's mode, VLAN or trunks changed.
   */
  setTag(t: number | undefined): boolean {
    const tag = t !== undefined && t >= 0 && t <= 4095 ? t : undefined;
    this.tag = tag;
    // port_configure: no vlan_mode -> access if tagged, else trunk.
    const mode: VlanMode = this.vlanModeColumn ?? (tag !== undefined ? 'access' : 'trunk');
    // bundle_set: access/native use the tag (0 if none); trunk has none.
    const vlan = mode === 'trunk' ? -1 : tag ?? 0;
    let trunks: Uint8Array | null = null;
    if (mode !== 'access' && this.trunks && this.trunks.length) {
      trunks = new Uint8Array(4096);
      for (const v of this.trunks) if (v >= 0 && v < 4096) trunks[v] = 1;
    }
    if ((mode === 'native-tagged' || mode === 'native-untagged') && vlan !== 0) {
      // Force trunking the native VLAN and prohibit trunking VLAN 0.
      if (!trunks || !trunks[vlan] || trunks[0]) {
        trunks = trunks ?? new Uint8Array(4096).fill(1);
        trunks[vlan] = 1;
        trunks[0] = 0;
      }
    }
    const old = this.trunkSet;
    const sameTrunks = old === undefined ? false : old === null || trunks === null ? old === trunks : old.every((b, i) => b === trunks[i]);
    const changed = mode !== this.vlanMode || vlan !== this.vlan || !sameTrunks;
    this.vlanMode = mode;
    this.vlan = vlan;
    this.trunkSet = trunks;
    return changed;
  }

  /** xbundle_trunks_vlan(): a non-access port that carries `vid`. */
  trunksVlan(vid: number): boolean {
    return this.vlanMode !== 'access' && (this.trunkSet === null || this.trunkSet[vid] === 1);
  }

  /** xbundle_includes_vlan() for a single tag. */
  includesVlan(vid: number): boolean {
    return this.vlanMode === 'access' ? vid === this.vlan : this.trunksVlan(vid);
  }

  /** input_vid_is_valid(): may a frame with this VID (0 = untagged) enter here? */
  inputVidValid(vid: number): boolean {
    switch (this.vlanMode) {
      case 'access':
        return vid === 0;
      case 'native-tagged':
      case 'native-untagged':
        if (vid === 0) return true;
        return this.trunksVlan(vid);
      case 'trunk':
        return this.trunksVlan(vid);
    }
  }

  /** xvlan_input_translate(): the VLAN inside the bridge for a frame with this VID. */
  inputVlan(vid: number): number {
    switch (this.vlanMode) {
      case 'access':
        return this.vlan;
      case 'trunk':
        return vid;
      default:
        return vid === 0 ? this.vlan : vid;
    }
  }

  /**
   * xvlan_output_translate() + xvlan_put(): the flow TCI (CFI = tag present,
   * 0 = untagged) a frame of internal VLAN `vid`, priority `pcp` leaves with.
   */
  outputTci(vid: number, pcp: number): number {
    if (this.vlanMode === 'access') return 0;
    if (this.vlanMode === 'native-untagged' && vid === this.vlan) return 0;
    const tci = ((pcp & 7) << 13) | (vid & 0xfff);
    return tci === 0 ? 0 : tci | 0x1000;
  }
}
