import { parseHookPoint } from '../../model/hooks.js';
import {
  BUNDLE_FORMAT, BUNDLE_NAME_PATTERN, BUNDLE_VERSION, FEATURE_ID_PATTERN, PROVENANCE_METHODS,
  type Bundle, type BundleFeature, type ModelFingerprint, type PromotedToken, type Provenance,
  type ProvenanceMethod, type SteeringValidation, type TopContext,
} from './bundle.js';

// Turns parsed JSON into a Bundle, or fails naming the field (by its path, e.g.
// features[2].provenance.method) and what was expected. Unknown fields are
// errors: a misspelt optional field would otherwise vanish without a word.

export class BundleFormatError extends Error {
  constructor(readonly source: string, detail: string) {
    super(`${source}: ${detail}`);
    this.name = 'BundleFormatError';
  }
}

/** Reads the fields of one JSON object, remembering which were read so the rest can be reported as unknown. */
class ObjectReader {
  private readonly read = new Set<string>();

  constructor(readonly source: string, readonly path: string, private readonly value: Record<string, unknown>) {}

  static of(source: string, path: string, value: unknown): ObjectReader {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new BundleFormatError(source, `${path || 'the bundle'} must be a JSON object, got ${describe(value)}`);
    }
    return new ObjectReader(source, path, value as Record<string, unknown>);
  }

  fail(key: string, expected: string): never {
    throw new BundleFormatError(this.source, `${this.at(key)} must be ${expected}, got ${describe(Object.hasOwn(this.value, key) ? this.value[key] : undefined)}`);
  }

  at(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  keys(): string[] {
    return Object.keys(this.value);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.value, key) && this.value[key] !== undefined;
  }

  raw(key: string): unknown {
    this.read.add(key);
    // Own fields only: "constructor" must not be found on Object.prototype.
    return Object.hasOwn(this.value, key) ? this.value[key] : undefined;
  }

  string(key: string, options: { nonEmpty?: boolean; pattern?: RegExp; patternText?: string } = {}): string {
    const v = this.raw(key);
    if (typeof v !== 'string') this.fail(key, 'a string');
    if (options.nonEmpty && v.trim() === '') this.fail(key, 'a non-empty string');
    if (options.pattern && !options.pattern.test(v)) this.fail(key, options.patternText ?? `a string matching ${options.pattern}`);
    return v;
  }

  /** Marks an absent optional field as known, so the unknown-field error can list it. */
  optional(key: string): boolean {
    this.read.add(key);
    return this.has(key);
  }

  optionalString(key: string): string | undefined {
    return this.optional(key) ? this.string(key, { nonEmpty: true }) : undefined;
  }

  number(key: string): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'a finite number');
    return v;
  }

  integer(key: string, min: number): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) this.fail(key, `an integer >= ${min}`);
    return v;
  }

  object(key: string): ObjectReader {
    return ObjectReader.of(this.source, this.at(key), this.raw(key));
  }

  array(key: string): unknown[] {
    const v = this.raw(key);
    if (!Array.isArray(v)) this.fail(key, 'an array');
    return v;
  }

  /** Call after reading every known field. */
  noUnknownFields(): void {
    const unknown = Object.keys(this.value).filter((k) => !this.read.has(k));
    if (unknown.length > 0) {
      const where = this.path === '' ? 'the bundle' : this.path;
      throw new BundleFormatError(this.source, `${where} has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${[...this.read].join(', ')})`);
    }
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

// An ISO 8601 date, optionally with a time and zone; Date.parse alone accepts far too much.
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Validates parsed JSON as a bundle. `source` names the file (or "bundle") in errors. */
export function validateBundle(json: unknown, source = 'bundle'): Bundle {
  const top = ObjectReader.of(source, '', json);
  const format = top.raw('format');
  if (format !== BUNDLE_FORMAT) top.fail('format', `"${BUNDLE_FORMAT}"`);
  const version = top.raw('version');
  if (version !== BUNDLE_VERSION) top.fail('version', `${BUNDLE_VERSION} (the only version this imprint reads)`);
  const name = top.string('name', { pattern: BUNDLE_NAME_PATTERN, patternText: 'a name of letters, digits, ".", "_" and "-" that starts with a letter or digit' });
  const description = top.string('description');
  const model = readModel(top.object('model'));
  const hookPoint = top.string('hookPoint');
  let parsed: { layer: number; where: 'pre' | 'post' };
  try {
    parsed = parseHookPoint(hookPoint, model.layers);
  } catch (error) {
    throw new BundleFormatError(source, `hookPoint: ${(error as Error).message}`);
  }
  const layer = top.integer('layer', 0);
  if (layer !== parsed.layer) throw new BundleFormatError(source, `layer is ${layer} but hookPoint "${hookPoint}" is at layer ${parsed.layer}`);

  const rawFeatures = top.array('features');
  if (rawFeatures.length === 0) throw new BundleFormatError(source, 'features must list at least one feature');
  const features = rawFeatures.map((raw, i) => readFeature(ObjectReader.of(source, `features[${i}]`, raw)));
  checkUnique(source, features.map((f) => f.id), 'feature id');
  checkUnique(source, features.flatMap((f) => (f.kind === 'vector' ? [f.tensor] : [])), 'vector tensor name');
  checkUnique(source, features.flatMap((f) => (f.kind === 'sae' ? [`${f.sae}#${f.index}`] : [])), 'SAE feature (sae#index)');

  let vectors: Bundle['vectors'];
  if (top.optional('vectors')) {
    const v = top.object('vectors');
    // Only a bare file name: the vectors file always sits beside the JSON.
    const file = v.string('file', { pattern: /^[^\\/]+$/, patternText: 'a file name without a directory' });
    const sha256 = v.string('sha256', { pattern: /^[0-9a-f]{64}$/, patternText: '64 lowercase hex digits' });
    v.noUnknownFields();
    vectors = { file, sha256 };
  }
  top.noUnknownFields();
  const bundle: Bundle = { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, name, description, model, hookPoint: hookPoint as Bundle['hookPoint'], layer, features };
  if (vectors !== undefined) bundle.vectors = vectors;
  return bundle;
}

function checkUnique(source: string, values: string[], what: string): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) throw new BundleFormatError(source, `duplicate ${what} "${v}": each must appear once`);
    seen.add(v);
  }
}

function readModel(r: ObjectReader): ModelFingerprint {
  const model = {
    name: r.string('name', { nonEmpty: true }),
    modelType: r.string('modelType', { nonEmpty: true }),
    hiddenSize: r.integer('hiddenSize', 1),
    layers: r.integer('layers', 1),
  };
  r.noUnknownFields();
  return model;
}

function readFeature(r: ObjectReader): BundleFeature {
  const kind = r.raw('kind');
  if (kind !== 'sae' && kind !== 'vector') r.fail('kind', '"sae" (an SAE latent) or "vector" (an explicit vector)');
  const id = r.string('id', { pattern: FEATURE_ID_PATTERN, patternText: 'an id of letters, digits, ".", "_" and "-" that starts with a letter or digit' });
  const common = {
    id,
    label: r.string('label', { nonEmpty: true }),
    provenance: readProvenance(r.object('provenance')),
  };
  const feature: BundleFeature = kind === 'sae'
    ? { kind, ...common, sae: r.string('sae', { nonEmpty: true }), index: r.integer('index', 0) }
    : { kind, ...common, tensor: r.string('tensor', { nonEmpty: true }) };
  const axis = r.optionalString('axis');
  const side = r.optionalString('side');
  if (side !== undefined && axis === undefined) throw new BundleFormatError(r.source, `${r.at('side')} is set but ${r.at('axis')} is not: a side is one end of an axis`);
  if (axis !== undefined) feature.axis = axis;
  if (side !== undefined) feature.side = side;
  if (r.optional('steering')) feature.steering = readSteering(r.object('steering'));
  if (r.optional('topContexts')) feature.topContexts = readList(r, 'topContexts', readTopContext);
  if (r.optional('promotedTokens')) feature.promotedTokens = readList(r, 'promotedTokens', readPromotedToken);
  r.noUnknownFields();
  return feature;
}

function readList<T>(r: ObjectReader, key: string, readItem: (item: ObjectReader) => T): T[] {
  return r.array(key).map((item, i) => {
    const reader = ObjectReader.of(r.source, `${r.at(key)}[${i}]`, item);
    const value = readItem(reader);
    reader.noUnknownFields();
    return value;
  });
}

function readTopContext(r: ObjectReader): TopContext {
  return { text: r.string('text'), activation: r.number('activation') };
}

function readPromotedToken(r: ObjectReader): PromotedToken {
  return { token: r.string('token'), logit: r.number('logit') };
}

function readSteering(r: ObjectReader): SteeringValidation {
  const steering: SteeringValidation = { scale: r.number('scale'), margin: r.number('margin'), judge: r.string('judge', { nonEmpty: true }) };
  const rate = (key: 'baseline' | 'steered') => {
    const v = r.number(key);
    if (v < 0 || v > 1) r.fail(key, 'a rate between 0 and 1');
    return v;
  };
  // The fields of a confirmation run, added later: optional so older bundles load.
  if (r.optional('baseline')) steering.baseline = rate('baseline');
  if (r.optional('steered')) steering.steered = rate('steered');
  if (r.optional('standardError')) {
    steering.standardError = r.number('standardError');
    if (steering.standardError < 0) r.fail('standardError', 'a number >= 0');
  }
  if (r.optional('z')) steering.z = r.number('z');
  if (r.optional('prompts')) steering.prompts = r.integer('prompts', 1);
  if (r.optional('seed')) {
    const seed = r.raw('seed');
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) r.fail('seed', 'an integer');
    steering.seed = seed;
  }
  if (r.optional('fluent')) {
    steering.fluent = r.number('fluent');
    if (steering.fluent < 0 || steering.fluent > 1) r.fail('fluent', 'a share between 0 and 1');
  }
  if (r.optional('fluencyLimit')) {
    steering.fluencyLimit = r.number('fluencyLimit');
    if (steering.fluencyLimit < 0) r.fail('fluencyLimit', 'a number >= 0 (nats/token)');
  }
  if (r.optional('selectedFrom')) {
    const scales = r.array('selectedFrom');
    if (scales.length === 0) r.fail('selectedFrom', 'a non-empty array of scales');
    steering.selectedFrom = scales.map((scale, i) => {
      if (typeof scale !== 'number' || !Number.isFinite(scale)) {
        throw new BundleFormatError(r.source, `${r.at('selectedFrom')}[${i}] must be a finite number, got ${describe(scale)}`);
      }
      return scale;
    });
  }
  r.noUnknownFields();
  return steering;
}

function readProvenance(r: ObjectReader): Provenance {
  const method = r.raw('method');
  if (typeof method !== 'string' || !PROVENANCE_METHODS.includes(method as ProvenanceMethod)) r.fail('method', `one of ${PROVENANCE_METHODS.join(', ')}`);
  const provenance: Provenance = {
    method: method as ProvenanceMethod,
    data: r.string('data', { nonEmpty: true }),
    created: r.string('created', { pattern: ISO_DATE, patternText: 'an ISO 8601 date such as 2025-03-01 or 2025-03-01T12:00:00Z' }),
  };
  if (Number.isNaN(Date.parse(provenance.created))) r.fail('created', 'a real calendar date');
  const command = r.optionalString('command');
  if (command !== undefined) provenance.command = command;
  if (r.optional('counts')) {
    const counts = r.object('counts');
    // fromEntries defines own properties, so even a "__proto__" key stays data.
    provenance.counts = Object.fromEntries(counts.keys().map((key) => [key, counts.integer(key, 0)]));
  }
  r.noUnknownFields();
  return provenance;
}
