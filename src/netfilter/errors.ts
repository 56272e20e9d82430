// Configuration errors carry the line, column and token they are about, so a
// user pasting a real node's iptables-save output sees where it went wrong.

export class NfSyntaxError extends Error {
  /** The message without the location prefix, as iptables prints it (xtables_error's may end in a newline of its own). */
  readonly detail: string;
  /** The detail and the note on one line, for a topology file's reader. */
  readonly summary: string;
  constructor(
    readonly line: number,
    readonly column: number,
    readonly token: string,
    detail: string,
    /** Said after the detail in the message (a topology file's reader), not in what the iptables command prints. */
    readonly note?: string,
    /** A refusal of libiptc's (not of the command line): what iptables prints for it, `iptables: IPTC.` (exit 1). */
    readonly iptc?: string,
  ) {
    const summary = `${detail.trim()}${note ? ` (${note})` : ''}`;
    super(`line ${line}, column ${column}: ${summary}`);
    this.name = 'NfSyntaxError';
    this.detail = detail;
    this.summary = summary;
  }
}

/** Thrown by option parsers; the line parser adds line and column. */
export class NfOptionError extends Error {
  /** `iptc`: as NfSyntaxError's. */
  constructor(message: string, readonly tokenIndex: number, readonly iptc?: string) {
    super(message);
    this.name = 'NfOptionError';
  }
}
