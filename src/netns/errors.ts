// Two kinds of failure: text that does not parse (IpSyntaxError, pointing at
// the line and token), and a well-formed request the kernel refuses
// (RtnlError, carrying the errno and the extack message `ip` would print).

export class IpSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly token: string,
    readonly reason: string,
    readonly source?: string,
  ) {
    super(`${source ? source + ':' : ''}line ${line}, column ${column}: ${reason}`);
    this.name = 'IpSyntaxError';
  }
}

export type Errno =
  | 'EEXIST'
  | 'ENOENT'
  | 'ESRCH'
  | 'EINVAL'
  | 'ENODEV'
  | 'ENXIO'
  | 'ENETDOWN'
  | 'ENETUNREACH'
  | 'EHOSTUNREACH'
  | 'EACCES'
  | 'EADDRNOTAVAIL'
  | 'ENOBUFS'
  | 'EPERM'
  | 'EXDEV'
  | 'EAFNOSUPPORT';

const STRERROR: Record<Errno, string> = {
  EEXIST: 'File exists',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EINVAL: 'Invalid argument',
  ENODEV: 'No such device',
  ENXIO: 'No such device or address',
  ENETDOWN: 'Network is down',
  ENETUNREACH: 'Network is unreachable',
  EHOSTUNREACH: 'No route to host',
  EACCES: 'Permission denied',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENOBUFS: 'No buffer space available',
  EPERM: 'Operation not permitted',
  EXDEV: 'Invalid cross-device link',
  EAFNOSUPPORT: 'Address family not supported by protocol',
};

/** strerror(3) of an errno. */
export const strerror = (errno: Errno): string => STRERROR[errno];

/** A kernel refusal. `message` reads as `ip` prints it. */
export class RtnlError extends Error {
  constructor(
    readonly errno: Errno,
    readonly extack?: string,
    /** A message `ip` itself prints before asking the kernel (e.g. an unknown device). */
    text?: string,
    /** The status `ip` exits with: 2 when the kernel refused, 1 when ip refused by itself (an unknown device). */
    readonly exit = 2,
    /** What `ip` had printed on stdout before the refusal (`ip -j` opens its array before the dump). */
    readonly stdout = '',
  ) {
    super(text ?? (extack ? `Error: ${extack}.` : `RTNETLINK answers: ${STRERROR[errno]}`));
    this.name = 'RtnlError';
  }
}

// iproute2's own refusals of its command line (before asking the kernel).

/** invarg(): its words and exit status (255); `msg` ends in a newline where ip's does. */
export const invarg = (msg: string, arg: string): RtnlError => new RtnlError('EINVAL', undefined, `Error: argument "${arg}" is wrong: ${msg}`, 255);

/** get_prefix's refusal, in the request's family; ip exits at once with status 1. */
export const notPrefix = (arg: string, family: 'inet' | 'inet6' | 'any valid' = 'any valid'): RtnlError =>
  new RtnlError('EINVAL', undefined, `Error: ${family} prefix is expected rather than "${arg}".`, 1);

/** NEXT_ARG(): the word after words[i], or the refusal of a line that ends too soon. */
export function nextArg(words: readonly string[], i: number): string {
  const v = words[i];
  if (v === undefined) throw new RtnlError('EINVAL', undefined, 'Command line is not complete. Try option "help"', 255);
  return v;
}
