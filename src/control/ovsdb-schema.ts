// The columns of the OVSDB tables dpemu answers `ovs-vsctl list/find/get`
// for, as OVS 3.1's vswitch.ovsschema (version 8.3.1) declares them, in the
// order ovs-vsctl prints them (the IDL's, sorted by name). One word a column:
// NAME:KEY[(ENUM|...)|(MIN..MAX)][>VALUE][*MIN-MAX], the atom types by their
// initial (s string, i integer, b boolean, u uuid), MIN-MAX the number of
// elements (n: unlimited; absent: exactly one).

export type AtomType = 's' | 'i' | 'b' | 'u';

export interface BaseType {
  type: AtomType;
  enum?: readonly string[];
  min?: number;
  max?: number;
}

export interface ColumnType {
  key: BaseType;
  value?: BaseType;
  min: number;
  max: number;
}

export interface Column {
  name: string;
  type: ColumnType;
}

const SPEC: Record<string, string> = {
  Open_vSwitch:
    'bridges:u*0-n cur_cfg:i datapath_types:s*0-n datapaths:s>u*0-n db_version:s*0-1 dpdk_initialized:b dpdk_version:s*0-1 ' +
    'external_ids:s>s*0-n iface_types:s*0-n manager_options:u*0-n next_cfg:i other_config:s>s*0-n ovs_version:s*0-1 ssl:u*0-1 ' +
    'statistics:s>s*0-n system_type:s*0-1 system_version:s*0-1',
  Bridge:
    'auto_attach:u*0-1 controller:u*0-n datapath_id:s*0-1 datapath_type:s datapath_version:s external_ids:s>s*0-n ' +
    'fail_mode:s(standalone|secure)*0-1 flood_vlans:i(0..4095)*0-4096 flow_tables:i(0..254)>u*0-n ipfix:u*0-1 mcast_snooping_enable:b ' +
    'mirrors:u*0-n name:s netflow:u*0-1 other_config:s>s*0-n ports:u*0-n ' +
    'protocols:s(OpenFlow10|OpenFlow11|OpenFlow12|OpenFlow13|OpenFlow14|OpenFlow15)*0-n rstp_enable:b rstp_status:s>s*0-n sflow:u*0-1 ' +
    'status:s>s*0-n stp_enable:b',
  Port:
    'bond_active_slave:s*0-1 bond_downdelay:i bond_fake_iface:b bond_mode:s(balance-tcp|balance-slb|active-backup)*0-1 bond_updelay:i ' +
    'cvlans:i(0..4095)*0-4096 external_ids:s>s*0-n fake_bridge:b interfaces:u*1-n lacp:s(active|passive|off)*0-1 mac:s*0-1 name:s ' +
    'other_config:s>s*0-n protected:b qos:u*0-1 rstp_statistics:s>i*0-n rstp_status:s>s*0-n statistics:s>i*0-n status:s>s*0-n ' +
    'tag:i(0..4095)*0-1 trunks:i(0..4095)*0-4096 vlan_mode:s(trunk|access|native-tagged|native-untagged|dot1q-tunnel)*0-1',
  Interface:
    'admin_state:s(up|down)*0-1 bfd:s>s*0-n bfd_status:s>s*0-n cfm_fault:b*0-1 cfm_fault_status:s*0-n cfm_flap_count:i*0-1 ' +
    'cfm_health:i(0..100)*0-1 cfm_mpid:i*0-1 cfm_remote_mpids:i*0-n cfm_remote_opstate:s(up|down)*0-1 duplex:s(half|full)*0-1 ' +
    'error:s*0-1 external_ids:s>s*0-n ifindex:i(0..4294967295)*0-1 ingress_policing_burst:i(0..) ingress_policing_kpkts_burst:i(0..) ' +
    'ingress_policing_kpkts_rate:i(0..) ingress_policing_rate:i(0..) lacp_current:b*0-1 link_resets:i*0-1 link_speed:i*0-1 ' +
    'link_state:s(up|down)*0-1 lldp:s>s*0-n mac:s*0-1 mac_in_use:s*0-1 mtu:i*0-1 mtu_request:i(1..)*0-1 name:s ofport:i*0-1 ' +
    'ofport_request:i(1..65279)*0-1 options:s>s*0-n other_config:s>s*0-n statistics:s>i*0-n status:s>s*0-n type:s',
};

/** Every table of the 3.1 schema, for get_table()'s matching; only SPEC's have rows here. */
export const ALL_TABLES = ['AutoAttach', 'Bridge', 'CT_Timeout_Policy', 'CT_Zone', 'Controller', 'Datapath', 'Flow_Sample_Collector_Set',
  'Flow_Table', 'IPFIX', 'Interface', 'Manager', 'Mirror', 'NetFlow', 'Open_vSwitch', 'Port', 'QoS', 'Queue', 'SSL', 'sFlow'] as const;

function base(word: string): BaseType {
  const m = /^([sibu])(?:\((.*)\))?$/.exec(word)!;
  const b: BaseType = { type: m[1] as AtomType };
  if (m[2]?.includes('..')) {
    const [lo, hi] = m[2].split('..');
    if (lo) b.min = Number(lo);
    if (hi) b.max = Number(hi);
  } else if (m[2]) b.enum = m[2].split('|');
  return b;
}

function column(word: string): Column {
  const [name, spec] = word.split(/:(.*)/s) as [string, string];
  const [types, n] = spec.split('*') as [string, string | undefined];
  const [k, v] = types.split('>') as [string, string | undefined];
  const [min, max] = n ? n.split('-') : ['1', '1'];
  return { name, type: { key: base(k), value: v === undefined ? undefined : base(v), min: Number(min), max: max === 'n' ? Infinity : Number(max) } };
}

export const SCHEMA: Record<string, readonly Column[]> = Object.fromEntries(
  Object.entries(SPEC).map(([t, s]) => [t, s.split(' ').map(column)]),
);

/** The type of _uuid, which no table lists as a column. */
export const UUID_TYPE: ColumnType = { key: { type: 'u' }, min: 1, max: 1 };
