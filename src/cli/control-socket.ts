// `--socket PATH` as every control subcommand takes it, wherever it appears.
/** Take `--socket PATH` / `--socket=PATH` out of argv. */
export function takeSocket(argv: string[]): { socket?: string; rest: string[] } {
  const rest: string[] = [];
  let socket: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--socket') socket = argv[++i];
    else if (a.startsWith('--socket=')) socket = a.slice('--socket='.length);
    else rest.push(a);
  }
  return socket === undefined ? { rest } : { socket, rest };
}

