// `dpemu ip [-t|-ts] [-n NS] NODE monitor [OBJECT...]` and `dpemu bridge
// [-s] [-t] [-n NS] NODE monitor [OBJECT...]` (and both under `dpemu ip NODE
// netns exec NS`): the tool's monitor, streamed from the daemon (the capture
// stream, src/control/server.ts) and printed as iproute2 prints it, until
// Ctrl-C or SIGTERM, which end it as they end the tool: killed by the
// signal, with nothing more printed.
import { captureRemote, ConnectError, endpointFromEnv } from '../control/client.js';
import { bridgeArgv } from '../control/bridge-argv.js';
import { ipObject, parseIpArgv } from '../control/ip-argv.js';
import { matches } from '../netns/ip-tokens.js';
import type { MonitorTool } from '../control/monitors.js';

/** The words ask for the tool's monitor (the stream), not a one-shot command. */
export function isMonitor(tool: MonitorTool, argv: readonly string[]): boolean {
  try {
    if (tool === 'ip') {
      const w = parseIpArgv(argv).words[0];
      return w !== undefined && ipObject(w) === 'monitor';
    }
    const w = bridgeArgv(argv).words[0];
    return w !== undefined && matches(w, 'monitor');
  } catch {
    return false; // the daemon answers a bad option as the tool does
  }
}

export async function monitorCommand(tool: MonitorTool, socket: string | undefined, argv: string[]): Promise<number> {
  let exit = 0;
  // Neither tool handles either signal: it dies of it (the shell's 130 or 143).
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
      tool === 'ip' ? { ipMonitor: argv } : { bridgeMonitor: argv },
      (ev) => {
        if (ev.type === 'line') process.stdout.write(ev.text + '\n');
        else if (ev.type === 'end' && ev.dropped > 0) process.stderr.write(`WARNING: ${ev.dropped} events were lost: the reader fell behind the daemon's queue.\n`);
        else if (ev.type === 'error') {
          process.stderr.write(`${tool}: ${ev.message}\n`);
          exit = 1;
        }
      },
      (r) => {
        process.stderr.write(r.stderr);
        exit = r.exit || 1;
      },
    );
  } catch (e) {
    process.stderr.write(e instanceof ConnectError ? e.message + '\n' : `${tool}: ${(e as Error).message}\n`);
    exit = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return exit;
}
