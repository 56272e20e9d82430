// The topology the bridge kernel comparisons build dpemu's side from: a
// compute node `c1` with one qbr as os-vif plugs a VM (a veth pair qvb/qvo
// to br-int, the VM's TAP as an edge), its kernel twin made by each test.
export interface QbrNames {
  /** The topology's name. */
  name: string;
  /** uniqueTag(): the TAP edge's device is dpe-TAG-t. */
  tag: string;
  br: string;
  qvb: string;
  qvo: string;
  tap: string;
  /** Each device's address (the twin's are set to the same); none: made from the names. */
  mac?: { br: string; qvb: string; qvo: string; tap: string };
  /** The qbr's ageing_time in seconds (default 300). */
  ageing?: number;
  /** More YAML under `c1:` after the OVS bridge's ports (indented as its keys). */
  more?: string;
}

export function qbrTopology(n: QbrNames): string {
  const mac = (d: keyof NonNullable<QbrNames['mac']>): string => (n.mac ? `, mac: ${n.mac[d]}` : '');
  return `
version: 1
name: ${n.name}
nodes:
  c1:
    role: compute
    linux_bridges:
      ${n.br}:${n.mac ? `\n        mac: ${n.mac.br}` : ''}${n.ageing !== undefined ? `\n        ageing_time: ${n.ageing}` : ''}
        ports:
          ${n.qvb}: { port_no: 1${mac('qvb')} }
          ${n.tap}: { port_no: 2${mac('tap')} }
    veths:
      - [${n.qvb}, ${n.qvo}]
    edges:
      ${n.tap}: { kind: tap, dev: dpe-${n.tag}-t }
    ovs:
      br-int:
        ports:
          ${n.qvo}: { ofport: 1${mac('qvo')} }
${n.more ?? ''}`;
}
