import { ModelConfigError } from '../spec.js';

// Typed reads of config.json fields. Every failure names the file, the field and
// what was expected, because a wrong config is the most common way a checkpoint
// from elsewhere fails to load.

export type RawConfig = Record<string, unknown>;

export class ConfigFields {
  constructor(readonly raw: RawConfig, readonly source: string) {}

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  int(key: string, fallback?: number): number {
    const value = this.raw[key] ?? fallback;
    if (value === undefined) throw new ModelConfigError(this.source, `missing required field "${key}" (a positive integer)`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new ModelConfigError(this.source, `field "${key}" must be a non-negative integer, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  positiveInt(key: string, fallback?: number): number {
    const value = this.int(key, fallback);
    if (value === 0) throw new ModelConfigError(this.source, `field "${key}" must be positive, got 0`);
    return value;
  }

  number(key: string, fallback?: number): number {
    const value = this.raw[key] ?? fallback;
    if (value === undefined) throw new ModelConfigError(this.source, `missing required field "${key}" (a number)`);
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ModelConfigError(this.source, `field "${key}" must be a finite number, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.raw[key] ?? fallback;
    if (typeof value !== 'boolean') throw new ModelConfigError(this.source, `field "${key}" must be true or false, got ${JSON.stringify(value)}`);
    return value;
  }

  string(key: string, fallback?: string): string {
    const value = this.raw[key] ?? fallback;
    if (typeof value !== 'string') throw new ModelConfigError(this.source, `field "${key}" must be a string, got ${JSON.stringify(value)}`);
    return value;
  }

  /** A token id field that may be absent, a number, or a list (eos_token_id often is). */
  tokenIds(key: string): number[] {
    const value = this.raw[key];
    if (value === undefined || value === null) return [];
    const list = Array.isArray(value) ? value : [value];
    for (const id of list) {
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
        throw new ModelConfigError(this.source, `field "${key}" must be a token id or a list of them, got ${JSON.stringify(value)}`);
      }
    }
    return list as number[];
  }

  firstTokenId(key: string): number | null {
    return this.tokenIds(key)[0] ?? null;
  }

  /** Rejects a config that turns on something this runtime does not implement, rather than running it wrongly. */
  refuse(key: string, unsupported: (value: unknown) => boolean, why: string): void {
    const value = this.raw[key];
    if (value !== undefined && value !== null && unsupported(value)) {
      throw new ModelConfigError(this.source, `field "${key}" = ${JSON.stringify(value)} is not supported: ${why}`);
    }
  }
}
