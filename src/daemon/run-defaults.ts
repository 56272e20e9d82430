// `dpemu run`'s defaults, apart from the daemon and its logger, so that the
// CLI defines run's options without loading them.
import type { Level } from 'pino';

export const DEFAULT_TOPOLOGY = 'configs/lab-dvr-snat.yaml';
export const LOG_LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
