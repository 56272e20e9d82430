// The `dpemu` command line. Subcommands live in their own files; this one
// only wires them into commander. Their implementations load when they run
// (import() in the actions), so a call loads only what it uses.
import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerControlCommands, remote } from './control-commands.js';
import { runCommand } from '../daemon/command.js';

/** The package's version: the nearest package.json above this file (src/cli under tsx, dist/src/cli built). */
function packageVersion(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    const p = join(d, 'package.json');
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
    if (dirname(d) === d) return 'unknown';
  }
}

// A reader that went away (`dpemu ... | head`): end as a C tool ends on SIGPIPE (a shell's 128 + 13), not with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(141);
  throw e;
});

const program = new Command();
program
  .name('dpemu')
  .description('Emulate a Neutron DVR data path packet by packet: OVS, Linux bridges, VXLAN, namespaces, iptables, conntrack')
  .version(packageVersion(), '-V, --version')
  // -V and -h after a subcommand are its own (`dpemu conntrack NODE -n NS -V` is conntrack's version).
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride();

program
  .command('check')
  .description('validate a topology file; prints every error as FILE:LINE:COL and exits non-zero if there is one')
  .argument('<file>', 'topology YAML')
  .action(async (file: string) => {
    process.exitCode = (await import('./check.js')).checkCommand(file);
  });

program
  .command('trace')
  .summary('run packets through the pipeline and print every hop (see `dpemu trace --help`)')
  .description('run packets through the pipeline and print every hop')
  .option('--config <file>', 'topology YAML (without it: the running daemon, its live state; --socket PATH)')
  .option('--json', 'one JSON document, frames in hex')
  .option('--no-hosts', 'do not emulate the file\'s lab hosts')
  .allowUnknownOption(true)
  .allowExcessArguments(true)
  .helpOption('-h, --help')
  .addHelpText(
    'after',
    `
Packets: each starts with --in NODE:PORT, then either --frame HEX or flags:
  --icmp-echo | --icmp-reply | --udp | --tcp   (default --icmp-echo)
  --src A --dst B  [--src-mac M --dst-mac M] [--vlan VID] [--ttl N]
  [--id N --seq N] [--sport N --dport N --flags S.] [--payload-len N]
Several packets run in order through one emulator, so a reply meets the
state its request left (conntrack, learned MACs).

Example:
  dpemu trace --config configs/seed-dvr-snat.yaml --in w07:tap2ab77d0f-99 --icmp-echo --src 192.168.1.7 --dst 8.8.8.8`,
  )
  .action(async (opts: { config?: string; json?: boolean; hosts: boolean }, cmd: Command) => {
    if (opts.config === undefined) process.exitCode = await remote('trace', opts.json ? [...cmd.args, '--json'] : cmd.args);
    else process.exitCode = (await import('./trace.js')).traceCommand(opts.config, cmd.args, { json: !!opts.json, hosts: opts.hosts });
  });

program.addCommand(runCommand());

registerControlCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = e.exitCode;
  else throw e;
}
