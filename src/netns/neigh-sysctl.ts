// net.ipv4.neigh.<dev>.* as net/core/neighbour.c's neigh_sysctl_template
// shows them: each key's unit over the model's value (NeighParams, ms and
// bytes), the values a write may have, and what it stores; net.ipv6.neigh's
// the same but for retrans_time (NEIGH6_KEYS). A jiffy is a
// millisecond here (HZ 1000): a kernel with another HZ rounds what is
// written to its jiffies (4 ms at HZ 250).
import { ETH_FRAME_TRUESIZE, type NeighParams } from './neighbour.js';

const INT_MAX = 2 ** 31 - 1;
const INT_MIN = -(2 ** 31);

export interface NeighKey {
  param: keyof NeighParams;
  /** What the handler accepts, in the key's own unit (a value outside: EINVAL). */
  range: readonly [number, number];
  /** The model's value for a written `v` within range. */
  write(v: number): number;
  /** What a read prints: a negative value keeps its sign even when it rounds to 0 ("-0"), as proc_put_long does. */
  read(stored: number): string;
  /** procps-ng 4.0.2 lists it only with --deprecated (its DEPRECATED table); a read by name still shows it. */
  deprecated?: true;
}

const scaled = (div: number) => (stored: number): string =>
  stored < 0 ? `-${Math.floor(-stored / div)}` : String(Math.floor(stored / div));

/** neigh_proc_dointvec_zero_intmax: packets, bytes. */
const count = (param: keyof NeighParams): NeighKey => ({ param, range: [0, INT_MAX], write: (v) => v, read: String });

/** proc_dointvec_ms_jiffies: a negative one is msecs_to_jiffies' MAX_JIFFY_OFFSET, over INT_MAX. */
const ms = (param: keyof NeighParams, min = 0): NeighKey => ({ param, range: [min, INT_MAX], write: (v) => v, read: String });

/** proc_dointvec_jiffies: seconds, either sign, as long as the jiffies fit an int. */
const secs = (param: keyof NeighParams): NeighKey => {
  const lim = Math.floor(INT_MAX / 1000);
  return { param, range: [-lim, lim], write: (v) => v * 1000, read: scaled(1000) };
};

/**
 * proc_dointvec_userhz_jiffies: 1/100 s. clock_t_to_jiffies takes the value
 * as unsigned: a negative one is ~0UL, -1 as the int it is stored in; a
 * large one is cut to an int.
 */
const userhz = (param: keyof NeighParams): NeighKey => ({
  param, range: [INT_MIN, INT_MAX], write: (v) => (v < 0 ? -1 : (v * 10) | 0), read: scaled(10),
});

/** Every key of a device's directory, in the order sysctl lists them (names sorted bytewise). */
export const NEIGH_KEYS: ReadonlyMap<string, NeighKey> = new Map<string, NeighKey>([
  ['anycast_delay', userhz('anycast_delay_ms')],
  ['app_solicit', count('app_solicit')],
  ['base_reachable_time', { ...secs('base_reachable_time_ms'), deprecated: true }],
  ['base_reachable_time_ms', ms('base_reachable_time_ms')],
  ['delay_first_probe_time', secs('delay_first_probe_time_ms')],
  ['gc_stale_time', secs('gc_stale_time_ms')],
  ['interval_probe_time_ms', ms('interval_probe_time_ms', 1)], // NEIGH_SYSCTL_MS_JIFFIES_POSITIVE_ENTRY
  ['locktime', userhz('locktime_ms')],
  ['mcast_resolicit', count('mcast_resolicit')],
  ['mcast_solicit', count('mcast_solicit')],
  ['proxy_delay', userhz('proxy_delay_ms')],
  ['proxy_qlen', count('proxy_qlen')],
  ['retrans_time', { ...userhz('retrans_time_ms'), deprecated: true }],
  ['retrans_time_ms', ms('retrans_time_ms')],
  ['ucast_solicit', count('ucast_solicit')],
  // neigh_proc_dointvec_unres_qlen: packets of SKB_TRUESIZE(ETH_FRAME_LEN) over unres_qlen_bytes.
  ['unres_qlen', {
    param: 'unres_qlen_bytes', range: [0, Math.floor(INT_MAX / ETH_FRAME_TRUESIZE)],
    write: (v) => v * ETH_FRAME_TRUESIZE, read: (b) => String(Math.floor(b / ETH_FRAME_TRUESIZE)),
  }],
  ['unres_qlen_bytes', count('unres_qlen_bytes')],
]);

/**
 * net.ipv6.neigh.<dev>.*: NEIGH_KEYS, but ndisc_ifinfo_sysctl_change reads
 * and writes retrans_time as plain jiffies (neigh_proc_dointvec, any int):
 * ms here, 250 a second at HZ 250.
 */
export const NEIGH6_KEYS: ReadonlyMap<string, NeighKey> = new Map(
  [...NEIGH_KEYS].map(([name, k]) => [name, name === 'retrans_time' ? { ...k, range: [INT_MIN, INT_MAX], write: (v: number) => v, read: String } : k]),
);
