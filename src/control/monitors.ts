// The tools' monitors (`ip monitor`, `bridge monitor`) as the control socket
// streams them: each reads its tool's words, listens in the thread that
// owns the node they name, and hands its records on as conntrack -E's lines.
import { bridgeArgv } from './bridge-argv.js';
import { BridgeMonitor, bridgeMonitorOf } from './bridge-monitor.js';
import type { CaptureOptions } from './capture.js';
import type { Scope } from './command.js';
import type { EventLine } from './conntrack-events.js';
import { parseIpArgv } from './ip-argv.js';
import { IpMonitor, ipMonitorOf } from './ip-monitor.js';

export type MonitorTool = 'ip' | 'bridge';

export interface Monitor {
  readonly captured: number;
  readonly dropped: number;
  stop(): void;
}

/** Start `tool monitor` with the tool's words (after its name), or throw a ControlError in the tool's words. */
export function startMonitor(tool: MonitorTool, scope: Scope, argv: readonly string[], opts: Pick<CaptureOptions, 'maxQueue' | 'congested' | 'defer'>, deliver: (lines: EventLine[]) => void): Monitor {
  return tool === 'ip' ? new IpMonitor(ipMonitorOf(scope, argv), opts, deliver) : new BridgeMonitor(bridgeMonitorOf(scope, argv), opts, deliver);
}

/** The node the words name (to find its worker), or undefined; throws on words the tool refuses. */
export function monitorNode(tool: MonitorTool, argv: readonly string[]): string | undefined {
  return tool === 'ip' ? parseIpArgv(argv).node : bridgeArgv(argv).node;
}
