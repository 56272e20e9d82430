// A datapath worker's view of a namespace's netfilter for conntrack-shared.test.ts:
// it attaches to the conntrack buffers the test posts and runs packets through
// PREROUTING, FORWARD and POSTROUTING on request.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { Netfilter, type CtStoreBuffers } from '../../src/netfilter/index.js';
import { info } from './netfilter-helpers.js';

export interface WorkerRequest {
  op: 'forward' | 'find' | 'crash' | 'spin';
  pkt?: Uint8Array;
  inIf?: string;
  outIf?: string;
  now?: number;
  tuple?: [number, number, number, number, number];
}

export interface ForwardReply {
  verdict: number;
  reason: string | null;
  pkt: Uint8Array;
  ctState: number;
  ctDir: number;
  slot: number;
}

const { buffers, rules } = workerData as { buffers: CtStoreBuffers; rules: string };
const nf = new Netfilter({ attach: buffers });
nf.load(rules);

function forward(pkt: Uint8Array, inIf: string, outIf: string, now: number): ForwardReply {
  const p = info(pkt, inIf, outIf);
  let verdict = nf.prerouting(p, now);
  if (verdict === 1) verdict = nf.forward(p, now);
  if (verdict === 1) verdict = nf.postrouting(p, now);
  return { verdict, reason: nf.result.reason, pkt, ctState: p.ctState, ctDir: p.ctDir, slot: p.ct };
}

parentPort!.on('message', (m: WorkerRequest) => {
  switch (m.op) {
    case 'forward':
      parentPort!.postMessage(forward(m.pkt!, m.inIf!, m.outIf!, m.now!));
      break;
    case 'find':
      parentPort!.postMessage(nf.conntrack.find(...m.tuple!, m.now!));
      break;
    case 'spin': {
      // New connections until terminated (the crash test kills the thread mid-traffic).
      parentPort!.postMessage({ threadId });
      const pkt = m.pkt!;
      for (let i = 0; ; i++) {
        pkt[20] = (i >>> 8) & 0xff; // the UDP source port, so every packet is a new connection
        pkt[21] = i & 0xff;
        pkt[26] = 0; // no UDP checksum to keep valid
        pkt[27] = 0;
        forward(pkt, m.inIf!, m.outIf!, m.now!);
      }
    }
    case 'crash':
      throw new Error('worker crashed on purpose');
  }
});
parentPort!.postMessage({ ready: threadId });
