// The flows the churn benchmarks add and delete on w07's br-int (the seed's
// and the lab's): they share tables and masks with the path's flows, at
// higher and lower priorities, and never match its packets. bench/churn.ts
// applies them to the engine in memory, bench/tap-churn.ts through the
// running daemon's control socket.
//
//   kind 0: table 0 in_port=qvo,dl_src at priority 50 (above the path's 9, so
//           every packet from the VM consults them)
//   kind 1: table 0 in_port=qr-,dl_src at priority 1 (the second pass's flow is priority 0)
//   kind 2: table 25 anti-spoofing in_port=qvo,dl_src at the path's priority 2, for other MACs
//   kind 3: table 60 DVR-style dl_vlan+dl_dst at priority 2, over NORMAL
//
// MACs are fa:16:3e:ee:xx:xx, never a MAC on the path.

/** Churned flows come in blocks of CHURN_BLOCK that share a cookie: one del-flows by cookie removes a block. */
export const CHURN_BLOCK = 100;

/** The cookie of block `b`: 0x1234 above the block number. */
export function churnCookie(b: number): string {
  return `0x1234${(b >>> 0).toString(16).padStart(8, '0')}`;
}

/** What every churned flow's cookie matches, as dump-flows and del-flows take it (cookie=VALUE/MASK). */
export const CHURN_COOKIES = '0x123400000000/0xffffffff00000000';

function churnMac(i: number): string {
  return `fa:16:3e:ee:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
}

/** The i-th churned flow, as add-flow takes it, and its match for a strict delete (unique: it names exactly that flow). */
export function churnFlow(i: number): { add: string; del: string } {
  const m = churnMac(i % 65536);
  const kind = i & 3;
  const match =
    kind === 0 ? `table=0,priority=50,in_port="qvo2ab77d0f-99",dl_src=${m}`
    : kind === 1 ? `table=0,priority=1,in_port="qr-178fc8e2-fd",dl_src=${m}`
    : kind === 2 ? `table=25,priority=2,in_port="qvo2ab77d0f-99",dl_src=${m}`
    : `table=60,priority=2,dl_vlan=${10 + (i % 7) + 1},dl_dst=${m}`;
  const actions = kind === 0 ? 'drop' : kind === 3 ? 'strip_vlan,output:"qvo2ab77d0f-99"' : 'resubmit(,30)';
  return { add: `cookie=${churnCookie(Math.floor(i / CHURN_BLOCK))},${match} actions=${actions}`, del: match };
}
