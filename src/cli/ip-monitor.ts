// `dpemu ip [-t|-ts] [-n NS] NODE monitor [OBJECT...]` (and `dpemu ip NODE
// netns exec NS ip monitor ...`): ip monitor, streamed from the daemon (the
// capture stream, src/control/server.ts) and printed as iproute2 prints it,
// until Ctrl-C or SIGTERM, which end it as they end ip: killed by the
// signal, with nothing more printed.
import { captureRemote, ConnectError, endpointFromEnv } from '../control/client.js';
import { ipObject, parseIpArgv } from '../control/ip-argv.js';

/** The words ask for ip monitor (the stream), not a one-shot ip command. */
export function isIpMonitor(argv: readonly string[]): boolean {
  try {
    const w = parseIpArgv(argv).words[0];
    return w !== undefined && ipObject(w) === 'monitor';
  } catch {
    return false; // the daemon answers a bad option as ip does
  }
}

export async function ipMonitorCommand(socket: string | undefined, argv: string[]): Promise<number> {
  let exit = 0;
  // ip has no handler for either: it dies of the signal (the shell's 130 or 143).
  const onSignal = (sig: NodeJS.Signals) => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.kill(process.pid, sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await captureRemote(
      endpointFromEnv(socket),
      { ipMonitor: argv },
      (ev) => {
        if (ev.type === 'line') process.stdout.write(ev.text + '\n');
        else if (ev.type === 'end' && ev.dropped > 0) process.stderr.write(`WARNING: ${ev.dropped} events were lost: the reader fell behind the daemon's queue.\n`);
        else if (ev.type === 'error') {
          process.stderr.write(`ip: ${ev.message}\n`);
          exit = 1;
        }
      },
      (r) => {
        process.stderr.write(r.stderr);
        exit = r.exit || 1;
      },
    );
  } catch (e) {
    process.stderr.write(e instanceof ConnectError ? e.message + '\n' : `ip: ${(e as Error).message}\n`);
    exit = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return exit;
}
