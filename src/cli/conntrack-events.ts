// `dpemu conntrack NODE -n NS -E [filters]`: conntrack -E, streamed from the
// daemon (the capture stream, src/control/server.ts) and printed as
// conntrack-tools prints it, until Ctrl-C or SIGTERM, which end it as they
// end conntrack: the count of events shown on stderr, exit 0.
import { captureRemote, ConnectError, endpointFromEnv } from '../control/client.js';
import { conntrackEventsSummary } from '../netfilter/conntrack-print.js';

/** The words ask for conntrack -E (the stream), not a one-shot conntrack command. */
export function isConntrackEvents(argv: readonly string[]): boolean {
  return argv.includes('-E') || argv.includes('--event');
}

export async function conntrackEventsCommand(socket: string | undefined, argv: string[]): Promise<number> {
  let shown = 0;
  let table = 'conntrack';
  let lost = 0;
  let exit = 0;
  const summary = () => {
    if (lost > 0) process.stderr.write(`WARNING: ${lost} events were lost: the reader fell behind the daemon's queue.\n`);
    process.stderr.write(conntrackEventsSummary(table, shown) + '\n');
  };
  const onSignal = () => {
    summary();
    process.exit(0);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await captureRemote(
      endpointFromEnv(socket),
      { conntrack: argv },
      (ev) => {
        if (ev.type === 'listening') table = ev.table;
        else if (ev.type === 'line') {
          shown++;
          process.stdout.write(ev.text + '\n');
        } else if (ev.type === 'end') lost = ev.dropped;
        else if (ev.type === 'error') {
          process.stderr.write(`conntrack: ${ev.message}\n`);
          exit = 1;
        }
      },
      (r) => {
        process.stderr.write(r.stderr);
        exit = r.exit || 1;
      },
    );
  } catch (e) {
    process.stderr.write(e instanceof ConnectError ? e.message + '\n' : `conntrack: ${(e as Error).message}\n`);
    exit = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // The daemon ended the stream (it stopped, or the worker owning the namespace died).
  if (exit === 0) summary();
  return exit;
}
