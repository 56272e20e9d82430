// The usage lines of dpemu's ping and arping, apart from their
// implementations, so that the CLI's help costs no import of them.

/** `dpemu ping`'s words, for its usage line. */
export const PING_USAGE = 'NODE [-n NS] [-4|-6] [-aABdDfnOqUv] [-M do|want|dont] [-c COUNT] [-e IDENT] [-m MARK] [-i INTERVAL] [-l PRELOAD] [-p PATTERN] [-Q TOS] [-W TIMEOUT] [-w DEADLINE] [-s SIZE] [-S SNDBUF] [-t TTL] [-I IFACE|ADDR] ADDR';

/** `dpemu arping`'s words, for its usage line. */
export const ARPING_USAGE_LINE = 'NODE [-n NS] [-fqbDUAV] [-c COUNT] [-w TIMEOUT] [-i INTERVAL] [-I DEVICE] [-s SOURCE] TARGET';
