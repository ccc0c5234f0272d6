import { BUNDLE_NAME_PATTERN } from '../bundles/bundle.js';

// "bundle:feature=scale", as given to --steer (repeatable): steer along one
// feature of a bundle by `scale` (in units of the residual stream, along the
// feature's unit direction). The feature is an id or a label; a label may hold
// spaces, ":" or "=", so the bundle ends at the first ":" and the scale starts
// after the last "=".

export interface SteerSpec {
  bundle: string;
  /** Feature id or label, resolved against the bundle later. */
  feature: string;
  scale: number;
}

const EXPECTED = 'expected bundle:feature=scale, e.g. tone:casual=4';

export function parseSteerSpec(text: string): SteerSpec {
  const fail = (problem: string): never => {
    throw new RangeError(`steering spec ${JSON.stringify(text)}: ${problem} (${EXPECTED})`);
  };
  if (typeof text !== 'string') return fail(`must be a string, got ${typeof text}`);
  const colon = text.indexOf(':');
  if (colon < 0) fail('no ":" between the bundle name and the feature');
  const bundle = text.slice(0, colon).trim();
  if (bundle === '') fail('the bundle name before ":" is empty');
  if (!BUNDLE_NAME_PATTERN.test(bundle)) fail(`bundle name ${JSON.stringify(bundle)} may only hold letters, digits, ".", "_" and "-"`);
  const rest = text.slice(colon + 1);
  const equals = rest.lastIndexOf('=');
  if (equals < 0) fail('no "=scale" after the feature');
  const feature = rest.slice(0, equals).trim();
  if (feature === '') fail('the feature between ":" and "=" is empty');
  const scaleText = rest.slice(equals + 1).trim();
  // Number('') is 0, so an empty scale must be caught before converting.
  if (scaleText === '') fail('the scale after "=" is empty');
  const scale = Number(scaleText);
  if (!Number.isFinite(scale)) fail(`scale ${JSON.stringify(scaleText)} is not a finite number`);
  return { bundle, feature, scale };
}

export function parseSteerSpecs(texts: readonly string[]): SteerSpec[] {
  return texts.map(parseSteerSpec);
}
