/** A token bucket per source address: `burst` connections at once, refilled at `perSecond`. */
export class AddressRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private sweepAt = 4096;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly now: () => number,
  ) {}

  /** Takes one token for `address`; false when its bucket is empty. */
  take(address: string): boolean {
    const t = this.now();
    const b = this.buckets.get(address);
    if (b === undefined) {
      if (this.buckets.size >= this.sweepAt) this.sweep(t);
      this.buckets.set(address, { tokens: this.burst - 1, at: t });
      return true;
    }
    b.tokens = this.level(b, t);
    b.at = t;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Addresses currently tracked (full buckets are forgotten lazily). */
  get size(): number {
    return this.buckets.size;
  }

  private level(b: { tokens: number; at: number }, t: number): number {
    // A clock that steps back must not mint tokens.
    const elapsed = Math.max(0, t - b.at);
    return Math.min(this.burst, b.tokens + (elapsed * this.perSecond) / 1000);
  }

  // A full bucket holds no information, so forgetting it bounds memory under many addresses.
  private sweep(t: number): void {
    for (const [address, b] of this.buckets) {
      if (this.level(b, t) >= this.burst) this.buckets.delete(address);
    }
    this.sweepAt = Math.max(4096, this.buckets.size * 2);
  }
}
