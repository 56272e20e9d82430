// The join of a trace's pieces (src/workers/trace-merge.ts) on a small case
// written out by hand: branches numbered by the place of the delivery that
// created them in one engine's FIFO (shallower first), whichever worker ran
// it; a branch that crossed goes on with the events of the worker that took
// it; a piece whose sender's piece has not arrived, or a hole in a worker's
// pieces, leaves the trace incomplete. (workers-trace.test.ts checks whole
// traces against one emulator.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinPieces, mergeTrace } from '../../src/workers/trace-merge.js';
import type { TracePiece } from '../../src/workers/worker-trace.js';
import type { TraceEvent } from '../../src/datapath/trace.js';

const note = (branch: number, node: string, text: string): TraceEvent => ({ kind: 'note', branch, node, element: 'e', text });

// Worker 0 injects branch 1; its first delivery ([]) clones branch 2, which
// crosses to worker 1 from delivery [0] (the crossing's delivery would be
// [0, 0]); delivery [0] of branch 1 also creates branch 3 (path [0]), and a
// deeper one [0, 1] branch 4. Worker 1 continues branch 2 as its branch 1
// and creates its branch 2 at [0, 0] + [] and its branch 3 at [0, 0] + [0].
const w0: TracePiece = {
  trace: 7,
  seq: 0,
  events: [note(1, 'a', 'one'), { kind: 'branch', branch: 2, parent: 1, node: 'a', element: 'e', cause: 'flood' }, note(2, 'a', 'two here'), note(3, 'a', 'three'), note(4, 'a', 'four')],
  roots: [{ branch: 1, from: null }],
  births: [[2, { root: 0, path: [] }], [3, { root: 0, path: [0] }], [4, { root: 0, path: [0, 1] }]],
  crossings: [{ branch: 2, key: { root: 0, path: [0, 0] }, to: 1, node: 'fabric', element: 'fabric' }],
};
const w1: TracePiece = {
  trace: 7,
  seq: 0,
  events: [note(1, 'b', 'two there'), { kind: 'branch', branch: 2, parent: 1, node: 'b', element: 'e', cause: 'icmp error' }, note(2, 'b', 'five'), { kind: 'branch', branch: 3, parent: 2, node: 'b', element: 'e', cause: 'arp' }, note(3, 'b', 'six')],
  roots: [{ branch: 1, from: 0 }],
  births: [[2, { root: 0, path: [] }], [3, { root: 0, path: [0] }]],
  crossings: [],
};

test('branches are numbered by their delivery\'s place in one FIFO, and a crossed branch goes on in the other worker', () => {
  const m = mergeTrace(new Map([[1, joinPieces([w1])], [0, joinPieces([w0])]]), 0);
  assert.equal(m.complete, true);
  assert.deepEqual(m.owing, []);
  const text = m.events.map((e) => `${e.branch}:${e.kind === 'note' ? e.text : e.kind === 'branch' ? `<${e.parent}` : e.kind}`);
  // [] -> 2; [0] -> 3; [0,0]+[] (worker 1) -> 4 before [0,1] (worker 0) -> 5, both depth 2, 0 < 1; [0,0,0] -> 6.
  assert.deepEqual(text, ['1:one', '2:<1', '2:two here', '2:two there', '3:three', '4:<2', '4:five', '5:four', '6:<4', '6:six']);
});

test('a piece that arrives before its sender\'s, or after a hole, leaves the trace incomplete', () => {
  const early = mergeTrace(new Map([[1, joinPieces([w1])]]), 0);
  assert.equal(early.complete, false);
  assert.deepEqual(early.events, []);
  const waiting = mergeTrace(new Map([[0, joinPieces([w0])], [1, joinPieces([undefined, { ...w1, seq: 1 }])]]), 0);
  assert.equal(waiting.complete, false);
  assert.deepEqual(waiting.owing, [1]);
  // Until worker 1 reports, branch 2 ends where it left, saying so.
  const two = waiting.events.filter((e) => e.branch === 2).map((e) => (e.kind === 'note' ? e.text : e.kind));
  assert.deepEqual(two, ['branch', 'two here', 'handed to datapath worker 1, which has not reported what it did with it']);
});
