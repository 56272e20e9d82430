// Emulated time in milliseconds. Elements never read the wall clock: tests
// drive a ManualClock to walk ARP, fdb and conntrack timers deterministically.
export interface Clock {
  now(): number;
}

export class ManualClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}

