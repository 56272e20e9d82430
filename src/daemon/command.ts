// The `run` subcommand for src/cli/main.ts: `dpemu run [FILE] [--node N]... [--lab]`.
import { Command, Option } from 'commander';
import type { Level } from 'pino';
import { DEFAULT_TOPOLOGY } from './daemon.js';
import { LOG_LEVELS, type LogFormat } from './log.js';
import { runDaemon, type RunOptions } from './run.js';

export function runCommand(extra: Pick<RunOptions, 'services'> = {}): Command {
  return new Command('run')
    .description('run the emulator on real TAP devices, one per edge port, until SIGINT/SIGTERM (SIGHUP reloads the file); needs root')
    .argument('[file]', 'topology YAML', DEFAULT_TOPOLOGY)
    .option('-n, --node <name>', 'run only this node (or gateway) of the file; repeat or separate with commas (default: all)', collect)
    .option('--lab', 'also create the file\'s lab hosts: a dpe- namespace per host with its TAP moved in as its interface')
    .addOption(new Option('--log-level <level>', 'least severe level logged').choices(LOG_LEVELS as string[]).default('info'))
    .addOption(new Option('--log-format <format>', 'json lines or human lines (default: pretty on a terminal, json otherwise)').choices(['json', 'pretty']))
    .action(async (file: string, o: { node?: string[]; lab?: boolean; logLevel: Level; logFormat?: LogFormat }) => {
      process.exitCode = await runDaemon({
        file,
        lab: !!o.lab,
        logLevel: o.logLevel,
        ...(o.node ? { nodes: o.node } : {}),
        ...(o.logFormat ? { logFormat: o.logFormat } : {}),
        ...extra,
      });
    });
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}
