// The daemon's structured log: pino, one JSON object per line (for files,
// journald, Loki), or pino-pretty's human lines when stderr is a terminal.
// Synchronous writes, so the last lines before an exit are not lost.
import { pino, type Logger, type Level } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };
export type LogFormat = 'json' | 'pretty';

export interface LogOptions {
  level?: Level | 'silent';
  /** Default: pretty on a terminal, JSON otherwise. */
  format?: LogFormat;
  /** File descriptor to write to (default 2, stderr). */
  fd?: number;
}

export function defaultLogFormat(fd = 2): LogFormat {
  const tty = fd === 1 ? process.stdout.isTTY : process.stderr.isTTY;
  return tty ? 'pretty' : 'json';
}

export function createLogger(opts: LogOptions = {}): Logger {
  const fd = opts.fd ?? 2;
  const format = opts.format ?? defaultLogFormat(fd);
  const base = { level: opts.level ?? 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (format === 'pretty') {
    const stream = pretty({ destination: fd, sync: true, colorize: fd === 2 ? !!process.stderr.isTTY : !!process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true });
    return pino(base, stream);
  }
  return pino(base, pino.destination({ dest: fd, sync: true }));
}
