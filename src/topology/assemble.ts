// Schema-valid data -> model objects of one node or gateway, with the checks
// that need only that object: ofports, port numbers, name lengths, tunnel
// options, addresses, the underlay's next hop. Links are made in links.ts.
import type { RawGateway, RawIpStack, RawNode, RawOvsBridge, RawOvsPort, RawLinuxBridge, RawInterface, Scalar } from './raw.js';
import type {
  Gateway, IfAddress, IpStack, LinuxBridge, LinuxBridgePort, Namespace, Node, NsInterface, OvsBridge, OvsPort,
  TextBlock, UnderlayNic, VethPair, VxlanOptions,
} from './model.js';
import { OFPP_LOCAL } from './model.js';
import type { ErrorList } from './errors.js';
import type { Path, YamlSource } from './yaml-source.js';
import { contains, networkOf, parseIp } from './addr.js';
import { parseIpv6 } from '../wire/addr.js';
import { ip6ToString } from '../wire/tcpdump-text.js';

export const IFNAMSIZ_MAX = 15;
const OFPORT_MAX = 65279; // OFPP_MAX - 1
const DEFAULT_MTU = 1500;

export interface Ctx {
  readonly src: YamlSource;
  readonly errors: ErrorList;
}

export function mac(s: string): string {
  return s.toLowerCase();
}

/** "a.b.c.d/len", or in a namespace "a.b.c.d/len brd e.f.g.h", or "IPV6/len" (the schema checked the form). */
export function address(text: string): IfAddress {
  const [cidr, , brd] = text.split(' ');
  const [ip, len] = cidr!.split('/');
  return { ip: ip!, prefixLen: Number(len), cidr: cidr!, ...(brd ? { broadcast: brd } : {}), ...(ip!.includes(':') ? { inet6: true as const } : {}) };
}

function block(ctx: Ctx, path: Path, v: string | undefined): TextBlock | null {
  return v === undefined ? null : ctx.src.textBlock(path, ctx.errors);
}

function strings(r: Record<string, string | number> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(r ?? {}).map(([k, v]) => [k, String(v)]));
}

export function assembleNode(ctx: Ctx, name: string, raw: RawNode): Node {
  const base: Path = ['nodes', name];
  const underlay = raw.underlay ? assembleUnderlay(ctx, [...base, 'underlay'], raw) : null;
  return {
    name,
    loc: ctx.src.keyLoc(base),
    description: raw.description,
    role: raw.role,
    agentMode: raw.agent_mode,
    dvrMac: raw.dvr_mac && mac(raw.dvr_mac),
    ovsVersion: raw.ovs_version,
    underlay,
    ovsBridges: Object.entries(raw.ovs ?? {}).map(([b, rb]) => assembleOvsBridge(ctx, [...base, 'ovs', b], b, rb, underlay)),
    linuxBridges: Object.entries(raw.linux_bridges ?? {}).map(([b, rb]) => assembleLinuxBridge(ctx, [...base, 'linux_bridges', b], b, rb)),
    namespaces: Object.entries(raw.namespaces ?? {}).map(([n, rn]) => assembleNamespace(ctx, [...base, 'namespaces', n], n, rn)),
    veths: (raw.veths ?? []).map(([a, b], i): VethPair => ({ a, b, loc: ctx.src.loc([...base, 'veths', i]) })),
  };
}

function assembleUnderlay(ctx: Ctx, path: Path, raw: RawNode): UnderlayNic {
  const u = raw.underlay!;
  const address_ = address(u.ip);
  const ip = parseIp(address_.ip)!;
  const gw = parseIp(u.gateway)!;
  if (!contains(ip, address_.prefixLen, gw) || gw === ip) {
    ctx.errors.add(
      ctx.src.loc([...path, 'gateway']),
      `expected a next hop inside ${networkOf(ip, address_.prefixLen)} other than the NIC's own address, got ${u.gateway} (the kernel would say: Nexthop has invalid gateway)`,
    );
  }
  return {
    nic: u.nic,
    address: address_,
    mac: mac(u.mac),
    mtu: u.mtu ?? DEFAULT_MTU,
    gateway: u.gateway,
    gatewayMac: mac(u.gateway_mac),
    hashSeed: u.hash_seed ?? 0,
    loc: ctx.src.keyLoc(path),
  };
}

function assembleOvsBridge(ctx: Ctx, path: Path, name: string, raw: RawOvsBridge, underlay: UnderlayNic | null): OvsBridge {
  const entries = Object.entries(raw.ports ?? {});
  const used = new Map<number, string>([[OFPP_LOCAL, name]]);
  const ports: OvsPort[] = [];
  // Explicit ofports first, then the lowest free ones in file order (as OVS allocates).
  for (const [p, rp] of entries) {
    if (rp.ofport === undefined) continue;
    const at = [...path, 'ports', p, 'ofport'];
    const local = p === name;
    if (local && rp.ofport !== OFPP_LOCAL) ctx.errors.add(ctx.src.loc(at), `expected ofport 65534 (LOCAL) for the bridge's own port, got ${rp.ofport}`);
    else if (!local && rp.ofport > OFPORT_MAX) {
      ctx.errors.add(ctx.src.loc(at), `expected an integer 1..65279 (65534 is LOCAL, the bridge's own port), got ${rp.ofport}`);
    } else if (!local && used.has(rp.ofport)) {
      const other = used.get(rp.ofport)!;
      const ol = ctx.src.loc([...path, 'ports', other, 'ofport']);
      ctx.errors.add(ctx.src.loc(at), `duplicate ofport ${rp.ofport}: already used by port ${other} (line ${ol.line})`);
    } else used.set(rp.ofport, p);
  }
  let next = 1;
  const ofportOf = new Map<string, number>();
  for (const [p, rp] of entries) {
    if (p === name) ofportOf.set(p, OFPP_LOCAL);
    else if (rp.ofport !== undefined) ofportOf.set(p, rp.ofport);
    else {
      while (used.has(next)) next++;
      used.set(next, p);
      ofportOf.set(p, next);
    }
  }
  for (const [p, rp] of entries) ports.push(assembleOvsPort(ctx, [...path, 'ports', p], p, rp, name, ofportOf.get(p)!, underlay));
  if (!ofportOf.has(name)) {
    ports.push({
      name, loc: ctx.src.keyLoc(path), ofport: OFPP_LOCAL, type: 'internal', tag: null, trunks: [], vlanMode: null, options: {}, local: true,
      ...(raw.mac ? { mac: mac(raw.mac) } : {}),
    });
  }
  ports.sort((a, b) => a.ofport - b.ofport);
  return {
    name,
    loc: ctx.src.keyLoc(path),
    failMode: raw.fail_mode,
    mac: raw.mac && mac(raw.mac),
    ports,
    flows: block(ctx, [...path, 'flows'], raw.flows),
  };
}

const VXLAN_OPTIONS = new Set([
  'remote_ip', 'local_ip', 'in_key', 'out_key', 'key', 'df_default', 'dst_port', 'tos', 'ttl', 'csum', 'egress_pkt_mark', 'packet_type', 'exts',
]);

function assembleOvsPort(
  ctx: Ctx, path: Path, name: string, raw: RawOvsPort, bridge: string, ofport: number, underlay: UnderlayNic | null,
): OvsPort {
  const local = name === bridge;
  const type = raw.type ?? (local ? 'internal' : 'system');
  const options = Object.fromEntries(Object.entries(raw.options ?? {}).map(([k, v]) => [k, String(v)]));
  if (local && type !== 'internal') ctx.errors.add(ctx.src.loc([...path, 'type']), `expected type internal for the bridge's own port, got ${type}`);
  if ((type === 'system' || type === 'internal') && name.length > IFNAMSIZ_MAX) {
    ctx.errors.add(ctx.src.keyLoc(path), `expected a ${type} port name of at most 15 characters (IFNAMSIZ), got ${name.length}`);
  }
  if ((type === 'system' || type === 'internal') && raw.options) {
    ctx.errors.add(ctx.src.keyLoc([...path, 'options']), `unexpected options: only patch and vxlan ports take options`);
  }
  const port: { -readonly [K in keyof OvsPort]: OvsPort[K] } = {
    name, loc: ctx.src.keyLoc(path), ofport, type, tag: raw.tag ?? null, trunks: raw.trunks ?? [], vlanMode: raw.vlan_mode ?? null,
    options, local,
  };
  if (raw.mac) port.mac = mac(raw.mac);
  if (raw.mtu) port.mtu = raw.mtu;
  if (type === 'patch') {
    for (const k of Object.keys(options)) {
      if (k !== 'peer') ctx.errors.add(ctx.src.keyLoc([...path, 'options', k]), `unknown patch option ${JSON.stringify(k)} (expected peer)`);
    }
    port.patchPeer = options.peer;
  }
  if (type === 'vxlan') port.tunnel = vxlanOptions(ctx, [...path, 'options'], raw.options ?? {}, underlay);
  return port;
}

function vxlanOptions(ctx: Ctx, path: Path, o: Record<string, Scalar>, underlay: UnderlayNic | null): VxlanOptions {
  for (const k of Object.keys(o)) {
    if (!VXLAN_OPTIONS.has(k)) ctx.errors.add(ctx.src.keyLoc([...path, k]), `unknown vxlan option ${JSON.stringify(k)} (expected one of: ${[...VXLAN_OPTIONS].join(', ')})`);
  }
  const ipOpt = (k: string, flowOk: boolean): string | null => {
    const v = o[k];
    if (v === undefined) return null;
    const s = String(v);
    if ((flowOk && s === 'flow') || parseIp(s) !== undefined) return s;
    ctx.errors.add(ctx.src.loc([...path, k]), `expected an IPv4 address${flowOk ? ' or "flow"' : ''}, got ${JSON.stringify(s)}`);
    return null;
  };
  const keyOpt = (k: string, dflt: 'flow' | number): 'flow' | number => {
    const v = o[k] ?? o.key;
    if (v === undefined) return dflt;
    const s = String(v);
    if (s === 'flow') return 'flow';
    if (/^(0x[0-9a-f]+|\d+)$/i.test(s) && Number(s) <= 0xffffff) return Number(s);
    ctx.errors.add(ctx.src.loc([...path, o[k] !== undefined ? k : 'key']), `expected "flow" or a VNI 0..16777215, got ${JSON.stringify(s)}`);
    return dflt;
  };
  const remoteIp = ipOpt('remote_ip', true) ?? 'flow';
  const localIp = ipOpt('local_ip', false);
  if (!underlay) ctx.errors.add(ctx.src.keyLoc(path.slice(0, -1)), 'a vxlan port needs the node\'s underlay (add `underlay:` to the node)');
  else if (localIp !== null && localIp !== underlay.address.ip) {
    ctx.errors.add(ctx.src.loc([...path, 'local_ip']), `expected the node's underlay address ${underlay.address.ip}, got ${localIp}`);
  }
  const df = o.df_default === undefined ? 'true' : String(o.df_default);
  if (df !== 'true' && df !== 'false') ctx.errors.add(ctx.src.loc([...path, 'df_default']), `expected "true" or "false", got ${JSON.stringify(df)}`);
  let dstPort = 4789;
  if (o.dst_port !== undefined) {
    const n = Number(o.dst_port);
    if (Number.isInteger(n) && n >= 1 && n <= 65535) dstPort = n;
    else ctx.errors.add(ctx.src.loc([...path, 'dst_port']), `expected a UDP port 1..65535, got ${JSON.stringify(String(o.dst_port))}`);
  }
  return { remoteIp, localIp, inKey: keyOpt('in_key', 0), outKey: keyOpt('out_key', 0), dfDefault: df !== 'false', dstPort };
}

function assembleLinuxBridge(ctx: Ctx, path: Path, name: string, raw: RawLinuxBridge): LinuxBridge {
  const entries = Object.entries(raw.ports ?? {});
  const used = new Map<number, string>();
  for (const [p, rp] of entries) {
    if (rp.port_no === undefined) continue;
    const other = used.get(rp.port_no);
    if (other !== undefined) {
      const ol = ctx.src.loc([...path, 'ports', other, 'port_no']);
      ctx.errors.add(ctx.src.loc([...path, 'ports', p, 'port_no']), `duplicate port_no ${rp.port_no}: already used by port ${other} (line ${ol.line})`);
    } else used.set(rp.port_no, p);
  }
  let next = 1;
  const ports: LinuxBridgePort[] = entries.map(([p, rp]) => {
    let portNo = rp.port_no;
    if (portNo === undefined) {
      while (used.has(next)) next++;
      used.set(next, p);
      portNo = next;
    }
    return { name: p, loc: ctx.src.keyLoc([...path, 'ports', p]), portNo, ...(rp.mac ? { mac: mac(rp.mac) } : {}), ...(rp.mtu ? { mtu: rp.mtu } : {}) };
  });
  ports.sort((a, b) => a.portNo - b.portNo);
  return {
    name, loc: ctx.src.keyLoc(path), ...(raw.mac ? { mac: mac(raw.mac) } : {}), stp: raw.stp ?? false, ageingTime: raw.ageing_time ?? 300, ports,
  };
}

export function assembleInterface(ctx: Ctx, path: Path, name: string, raw: RawInterface): NsInterface {
  const seen = new Map<string, IfAddress>();
  (raw.addresses ?? []).forEach((text, i) => {
    const a = address(text);
    const bytes = a.inet6 && parseIpv6(a.ip);
    if (bytes === null) return ctx.errors.add(ctx.src.loc([...path, 'addresses', i]), `expected an IPv6 address with prefix length like 2001:db8:7::1/64, got ${JSON.stringify(a.cidr)}`);
    // IPv6 addresses by value (2001:db8::1 is 2001:DB8:0::1), as the kernel tells them.
    const key = bytes ? `${ip6ToString(bytes, 0)}/${a.prefixLen}` : a.cidr;
    if (seen.has(key)) ctx.errors.add(ctx.src.loc([...path, 'addresses', i]), `duplicate address ${a.cidr} (the kernel would say: File exists)`);
    else seen.set(key, a);
  });
  return {
    name,
    loc: ctx.src.keyLoc(path),
    ...(raw.mac ? { mac: mac(raw.mac) } : {}),
    mtu: raw.mtu ?? DEFAULT_MTU,
    addresses: [...seen.values()],
    ...(raw.ifindex ? { ifindex: raw.ifindex } : {}),
    ...(raw.parent !== undefined && raw.vlan !== undefined ? { vlan: { parent: raw.parent, id: raw.vlan } } : {}),
  };
}

function ipStack(ctx: Ctx, path: Path, raw: RawIpStack): IpStack {
  const interfaces = Object.entries(raw.interfaces ?? {}).map(([n, ri]) => {
    if (n === 'lo') ctx.errors.add(ctx.src.keyLoc([...path, 'interfaces', n]), 'unexpected interface "lo": the loopback is implicit');
    return assembleInterface(ctx, [...path, 'interfaces', n], n, ri);
  });
  return {
    sysctls: strings(raw.sysctls),
    interfaces,
    routes: block(ctx, [...path, 'routes'], raw.routes),
    rules: block(ctx, [...path, 'rules'], raw.rules),
    routes6: block(ctx, [...path, 'routes6'], raw.routes6),
    rules6: block(ctx, [...path, 'rules6'], raw.rules6),
    neighbours: block(ctx, [...path, 'neighbours'], raw.neighbours),
    iptables: block(ctx, [...path, 'iptables'], raw.iptables),
  };
}

function assembleNamespace(ctx: Ctx, path: Path, name: string, raw: RawIpStack): Namespace {
  return { name, loc: ctx.src.keyLoc(path), ...ipStack(ctx, path, raw) };
}

export function assembleGateway(ctx: Ctx, name: string, raw: RawGateway): Gateway {
  const path: Path = ['gateways', name];
  const stack = ipStack(ctx, path, raw);
  const byName = new Map(stack.interfaces.map((i) => [i.name, i]));
  const vlans = new Map<string, string>();
  for (const i of stack.interfaces) {
    if (!i.vlan) continue;
    const at = [...path, 'interfaces', i.name, 'parent'];
    const parent = byName.get(i.vlan.parent);
    if (!parent) ctx.errors.add(ctx.src.loc(at), `no interface ${JSON.stringify(i.vlan.parent)} on gateway ${name}`);
    else if (parent.vlan) ctx.errors.add(ctx.src.loc(at), `expected a physical interface, got VLAN sub-interface ${parent.name}`);
    const k = `${i.vlan.parent}.${i.vlan.id}`;
    const other = vlans.get(k);
    if (other) ctx.errors.add(ctx.src.loc([...path, 'interfaces', i.name, 'vlan']), `VLAN ${i.vlan.id} on ${i.vlan.parent} is already interface ${other}`);
    vlans.set(k, i.name);
  }
  return { name, loc: ctx.src.keyLoc(path), description: raw.description, ...stack };
}
