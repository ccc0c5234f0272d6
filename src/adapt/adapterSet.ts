import type { CausalLm, LinearHook } from '../model/causalLm.js';
import { ResidualHooks } from '../model/hooks.js';
import { type Tensor, add } from '../tensor/index.js';
import { type AdapterParts, type ResidualSiteAdapter, buildAdapters } from './build.js';
import type { AdapterSetConfig } from './config.js';
import type { FeatureGeometry, FeatureSpace } from './featureSpace.js';
import type { LinearAdapter } from './linearAdapter.js';
import { type MaterialisedLayer, materialiseLinear } from './materialise.js';
import { type MergeRecord, mergeDeltas, unmergeDeltas } from './merge.js';
import { type AdapterNormReport, normReport } from './normReport.js';
import { type AdapterSetState, type DecodeOptions, decodeState, encodeState } from './state.js';

// The adapters of one user (or one experiment) on one loaded base model. The
// set never touches the base weights except through merge(): its linear hook
// and residual hooks close over the set and are passed to forward(), so any
// number of sets can share a base and be switched per request:
//
//   const { logits } = model.forward(tape, ids, batch, seq, set.forwardOptions());
//
// Training: optimise set.parameters() (e.g. with AdamW); with gradient projection
// on, call set.projectGradients() after backward() and set.projectParameters()
// after the optimiser step (the latter is what keeps the update in the subspace
// under Adam, which rescales coordinates one by one).

export interface NotMaterialised {
  name: string;
  kind: string;
  reason: string;
}

export interface Materialised {
  layers: MaterialisedLayer[];
  /** Residual-site kinds, which no (B, A) pair on a linear layer expresses. */
  notMaterialised: NotMaterialised[];
}

const RESIDUAL_SITE_REASON = {
  reft: 'a representation edit acts on the residual stream at the hook point (h + U(Dh + b)): its bias b and its read of the whole stream are not a weight change of any single linear layer',
  gain: 'a feature gain multiplies the SAE activation f(h), a nonlinear function of the stream, and adds a constant: no weight change of a linear layer computes that',
} as const;

export class AdapterSet {
  /** Dropout applies only while this is true (and only on tapes that record gradients). */
  training = false;
  readonly linear: readonly LinearAdapter[];
  readonly residualSites: readonly ResidualSiteAdapter[];
  private readonly bySite = new Map<string, LinearAdapter[]>();
  private hooks: ResidualHooks | null = null;
  private mergeRecords: MergeRecord[] | null = null;

  private constructor(
    readonly model: CausalLm,
    readonly config: AdapterSetConfig,
    readonly features: FeatureGeometry | null,
    parts: AdapterParts,
  ) {
    this.linear = parts.linear;
    this.residualSites = parts.residualSites;
    for (const a of parts.linear) this.bySite.set(a.site.name, [...(this.bySite.get(a.site.name) ?? []), a]);
  }

  /** Builds the adapters a config asks for. FC kinds, reft, gain and projected LoRA need `features`. */
  static create(model: CausalLm, config: AdapterSetConfig, features: FeatureSpace | null = null): AdapterSet {
    return new AdapterSet(model, config, features, buildAdapters(model, config, features));
  }

  static fromState(model: CausalLm, state: AdapterSetState, options: DecodeOptions = {}): AdapterSet {
    const { spec, features, parts } = decodeState(model, state, options);
    return new AdapterSet(model, spec, features, parts);
  }

  toState(): AdapterSetState {
    return encodeState(this.model, this.config, this.features, { linear: [...this.linear], residualSites: [...this.residualSites] });
  }

  /** Adds every linear adapter's ΔW x to the outputs of the layers it targets. */
  readonly linearHook: LinearHook = (tape, layer, input, output) => {
    const adapters = this.bySite.get(layer.name);
    if (adapters === undefined) return output;
    if (layer.weight !== adapters[0].site.linear.weight) {
      throw new Error(`adapter set: ${layer.name} is not the layer this set was built on; a set belongs to one loaded model`);
    }
    if (this.mergeRecords !== null) {
      if (tape.recordsGradients) throw new Error(`adapter set: its linear adapters are merged into the base weights, so they cannot be trained; unmerge() first`);
      return output;
    }
    const training = this.training && tape.recordsGradients;
    let out = output;
    for (const a of adapters) out = add(tape, out, a.delta(tape, input, training));
    return out;
  };

  /** The residual-site adapters as hooks (registered on `into` when given, else on the set's own hooks). */
  residualHooks(into?: ResidualHooks): ResidualHooks {
    if (into === undefined && this.hooks !== null) return this.hooks;
    const hooks = into ?? new ResidualHooks(this.model.spec.layers);
    for (const a of this.residualSites) hooks.on(a.point, (hidden, context) => a.apply(context.tape, hidden));
    if (into === undefined) this.hooks = hooks;
    return hooks;
  }

  forwardOptions(): { linearHook: LinearHook; hooks: ResidualHooks } {
    return { linearHook: this.linearHook, hooks: this.residualHooks() };
  }

  /** Every trainable tensor (requiresGrad), for an optimiser. */
  parameters(): Tensor[] {
    return [...this.linear.flatMap((a) => a.parameters()), ...this.residualSites.flatMap((a) => a.parameters())];
  }

  /** Projects the gradients of adapters with gradient projection on (call after backward). */
  projectGradients(): void {
    for (const a of this.linear) a.projectGradients();
    for (const a of this.residualSites) a.projectGradients();
  }

  /** Projects those adapters' parameters (call after each optimiser step). */
  projectParameters(): void {
    for (const a of this.linear) a.projectParameters();
    for (const a of this.residualSites) a.projectParameters();
  }

  featureNorms(): AdapterNormReport {
    return normReport(this.linear, this.residualSites, this.features);
  }

  materialise(): Materialised {
    return {
      layers: materialiseLinear(this.linear),
      notMaterialised: this.residualSites.map((a) => ({ name: a.name, kind: a.kind, reason: RESIDUAL_SITE_REASON[a.kind] })),
    };
  }

  get merged(): boolean {
    return this.mergeRecords !== null;
  }

  /**
   * Adds every linear adapter's ΔW into the base weights (the hook then skips
   * them). While merged, every set used on this base sees the merged weights:
   * merge only a base that serves this set alone.
   */
  merge(): void {
    if (this.mergeRecords !== null) throw new Error('adapter set: already merged');
    if (this.residualSites.length > 0) {
      const a = this.residualSites[0];
      throw new Error(`adapter set: cannot merge ${a.name}: ${RESIDUAL_SITE_REASON[a.kind]}; nothing was merged`);
    }
    const deltas = [...this.bySite.values()].map((adapters) => {
      const delta = adapters[0].deltaWeight();
      for (const a of adapters.slice(1)) {
        const more = a.deltaWeight();
        for (let i = 0; i < delta.length; i++) delta[i] += more[i];
      }
      return { module: adapters[0].site.name, weight: adapters[0].site.linear.weight, delta };
    });
    this.mergeRecords = mergeDeltas(deltas);
  }

  /** Restores the base weights bit for bit. */
  unmerge(): void {
    if (this.mergeRecords === null) throw new Error('adapter set: not merged');
    unmergeDeltas(this.mergeRecords);
    this.mergeRecords = null;
  }
}
