import type { CausalLm } from '../../../model/causalLm.js';
import { type AdapterMethodSpec, adapterMethod } from './adapterMethods.js';
import type { BenchMethod } from './method.js';
import { noneMethod, structuredMemoryMethod, titansMethod } from './memoryMethods.js';
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

export function allMethods(resources: MethodResources): BenchMethod[] {
  return [
    noneMethod, structuredMemoryMethod, fullFineTuneMethod(resources.loadModelCopy), titansMethod, steeringMethod(resources.steeringScales),
    ...adapterSpecs.map(adapterMethod),
  ];
}

export const METHOD_NAMES: readonly string[] = ['none', 'memory', 'full-ft', 'titans', 'steering', ...adapterSpecs.map((s) => s.name)];

/** The methods named, in the registry's order; an unknown name is refused with the list. */
export function methodsNamed(resources: MethodResources, names: readonly string[]): BenchMethod[] {
  for (const name of names) {
    if (!METHOD_NAMES.includes(name)) throw new RangeError(`unknown method "${name}"; the methods are ${METHOD_NAMES.join(', ')}`);
  }
  return allMethods(resources).filter((m) => names.includes(m.name));
}
