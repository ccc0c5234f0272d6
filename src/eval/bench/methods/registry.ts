import type { CausalLm } from '../../../model/causalLm.js';
import { type AdapterMethodSpec, adapterMethod } from './adapterMethods.js';
import type { BenchMethod } from './method.js';
import { noneMethod, structuredMemoryMethod, titansMethod } from './memoryMethods.js';
import { TUNED_RATES } from './tunedRates.js';
import { fullFineTuneMethod, steeringMethod } from './weightMethods.js';

// Every method of the benchmark, by name. The FC kinds come three ways each:
// as they are, with a rank-1 unconstrained residual adapter beside them
// ("+res", what the constraint costs), and with the gate off ("-gate", weight =
// the source's trust alone, what gating buys).

const FC_KINDS = ['write', 'read', 'reft', 'gain'] as const;

const fcSpecs: AdapterMethodSpec[] = FC_KINDS.flatMap((kind): AdapterMethodSpec[] => [
  { name: `fc-${kind}`, kind, description: `FC-LoRA ${kind} on the domain's bundle` },
  { name: `fc-${kind}+res`, kind, residual: true, description: `FC-LoRA ${kind} with a rank-1 unconstrained residual adapter` },
  { name: `fc-${kind}-gate`, kind, gateOff: true, description: `FC-LoRA ${kind} with the gate off` },
]);

const adapterSpecs: AdapterMethodSpec[] = [
  { name: 'lora-r8', kind: 'lora', rank: 8, description: 'unconstrained LoRA, rank 8' },
  { name: 'lora-r1', kind: 'lora', rank: 1, description: 'unconstrained LoRA, rank 1' },
  ...fcSpecs,
  { name: 'fc-selected', kind: 'write', selectFeatures: true, description: 'FC-LoRA write on the features the user\'s first interaction with context moves' },
];

export interface MethodResources {
  /** A fresh copy of the base model (full fine-tuning trains its own). */
  loadModelCopy: () => CausalLm;
  /** Per bundle feature, its validated steering scale. */
  steeringScales: ReadonlyMap<string, number>;
}

/** Methods that learn nothing take no rate. */
const RATELESS = ['none', 'memory', 'steering'];

export const METHOD_NAMES: readonly string[] = ['none', 'memory', 'full-ft', 'titans', 'steering', ...adapterSpecs.map((s) => s.name)];

/**
 * A method name as --methods takes it: a registered name, or a learning method's
 * name with "@RATE" to run it at another learning rate than its tuned one
 * (tunedRates.ts), e.g. "lora-r8@3e-3". Returns the base name and rate, or a
 * RangeError's message naming what is wrong.
 */
export function parseMethodName(name: string): { base: string; rate: number | null } | string {
  const at = name.indexOf('@');
  const base = at < 0 ? name : name.slice(0, at);
  if (!METHOD_NAMES.includes(base)) return `unknown method "${base}"; the methods are ${METHOD_NAMES.join(', ')}`;
  if (at < 0) return { base, rate: null };
  if (RATELESS.includes(base)) return `method "${base}" learns nothing, so it takes no @rate (got "${name}")`;
  const text = name.slice(at + 1);
  const rate = Number(text);
  if (text.trim() === '' || !Number.isFinite(rate) || rate <= 0) return `the rate in "${name}" must be a number > 0, like ${base}@3e-3`;
  return { base, rate };
}

function methodAt(resources: MethodResources, base: string, rate: number): BenchMethod {
  if (base === 'full-ft') return fullFineTuneMethod(resources.loadModelCopy, rate);
  if (base === 'titans') return titansMethod(rate);
  const spec = adapterSpecs.find((s) => s.name === base)!;
  return adapterMethod({ ...spec, learner: { ...spec.learner, lr: rate } });
}

/** The methods named (see parseMethodName), in the order given; an unknown name is refused with the list. */
export function methodsNamed(resources: MethodResources, names: readonly string[]): BenchMethod[] {
  return names.map((name) => {
    const parsed = parseMethodName(name);
    if (typeof parsed === 'string') throw new RangeError(parsed);
    if (parsed.base === 'none') return noneMethod;
    if (parsed.base === 'memory') return structuredMemoryMethod;
    if (parsed.base === 'steering') return steeringMethod(resources.steeringScales);
    const rate = parsed.rate ?? TUNED_RATES[parsed.base];
    return { ...methodAt(resources, parsed.base, rate), name, learningRate: rate };
  });
}
