// Comma-separated list flags (--seeds 1,2,3, --methods a,b), parsed and checked item by item.

/**
 * "1,2,3" → [1, 2, 3], each item checked; repeats dropped. `item` returns
 * undefined for a bad item, or throws a RangeError when it can say precisely
 * what is wrong with it (that reason is then the error's).
 */
export function parseListFlag<T>(name: string, raw: string | undefined, item: (s: string) => T | undefined, expected: string): T[] | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim());
  const values = parts.map((part) => {
    if (part === '') return undefined;
    try {
      return item(part);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new RangeError(`--${name}: ${error.message} (in '${raw}')`);
    }
  });
  if (values.some((v) => v === undefined)) throw new RangeError(`--${name} must be ${expected}, got '${raw}'`);
  return [...new Set(values as T[])];
}

export const asNumber = (check: (n: number) => boolean) => (s: string): number | undefined => {
  const n = Number(s);
  return s !== '' && check(n) ? n : undefined;
};

