// Requests per API key: a token bucket that holds `burst` requests and refills
// at `perMinute` a minute. It lives in memory: a restart forgets it, which at
// worst lets a key spend one more burst, and needs no write per request. The
// check runs before a request touches the database, so a refused request
// writes nothing.

export interface RateLimit {
  perMinute: number;
  burst: number;
}

export class RateLimiter {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();

  constructor(private readonly limit: RateLimit, private readonly clock: () => number = Date.now) {
    if (!(limit.perMinute > 0) || !(limit.burst >= 1)) throw new RangeError(`rate limit: perMinute must be > 0 and burst >= 1, got ${JSON.stringify(limit)}`);
  }

  /** Takes one request from `key`'s bucket; when empty, says how many seconds until the next one is allowed. */
  take(key: number): { ok: true } | { ok: false; retryAfterS: number } {
    const now = this.clock();
    const rate = this.limit.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, at: now };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - bucket.tokens) / rate / 1000)) };
  }
}
