import { codeBlock } from '../ui/markdown.js';
import type { BaseSuiteResult } from '../eval/baseSuite.js';
import { generalTextSource } from '../world/generalText.js';
import type { RunLog } from './trainer.js';

// The model card: what the model is, what it was trained on, how well it does on
// the base probes (with the quality bars), samples, and the command that rebuilds it.

export interface ModelCardInput {
  name: string;
  parameters: number;
  log: RunLog;
  suite: BaseSuiteResult | null;
  command: string;
  bytes: number;
}

const bars = { stated: 0.9, unstatedMaxShare: 0.8, qa: 0.8 };

function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a';
}

export function qualityBars(suite: BaseSuiteResult): { name: string; value: string; bar: string; pass: boolean }[] {
  // An axis no reply made observable (e.g. semicolons when no code was written) fails: there is nothing to credit.
  const rows = Object.entries(suite.stated).map(([axis, r]) => ({ name: `stated ${axis}`, value: pct(r.accuracy), bar: `>= ${pct(bars.stated)}`, pass: r.judged > 0 && r.accuracy >= bars.stated }));
  rows.push(...Object.entries(suite.unstated).map(([axis, r]) => ({ name: `unstated ${axis} (largest side)`, value: pct(r.maxShare), bar: `<= ${pct(bars.unstatedMaxShare)}`, pass: r.judged > 0 && r.maxShare <= bars.unstatedMaxShare })));
  rows.push({ name: 'fact QA accuracy', value: pct(suite.qa.accuracy), bar: `>= ${pct(bars.qa)}`, pass: suite.qa.accuracy >= bars.qa });
  return rows;
}

export function modelCard(input: ModelCardInput): string {
  const { log, suite } = input;
  const c = log.config;
  const totalTokens = log.tokensByKind.home + log.tokensByKind.coding + log.tokensByKind.general;
  const share = (n: number) => pct(n / Math.max(1, totalTokens));
  const lastEval = log.evals[log.evals.length - 1];
  const lastTrain = log.train.slice(-50);
  const trainLoss = lastTrain.reduce((a, r) => a + r.loss, 0) / Math.max(1, lastTrain.length);
  const lines: string[] = [
    `# ${input.name}`,
    '',
    'The embedded default model of imprint: a small Llama-architecture language model pretrained from scratch by imprint\'s own code on a generated world of home-assistant and coding-agent dialogues (whose styles vary along known latent axes) plus general English text. It exists so that everything in imprint runs on a real pretrained model without downloading one.',
    '',
    '## Model',
    '',
    `- Architecture: Llama (RMSNorm, RoPE, SwiGLU, tied embeddings), ${c.layers} layers, d_model ${c.hiddenSize}, ${c.heads} heads, FFN ${c.intermediateSize}, context ${c.contextLength} tokens.`,
    `- Parameters: ${input.parameters.toLocaleString('en-US')} (${(input.bytes / 1e6).toFixed(1)} MB as float32 safetensors).`,
    `- Tokenizer: byte-level BPE trained by imprint on ${c.tokenizerDocuments.toLocaleString('en-US')} corpus documents, ${c.vocabSize} tokens, with chat special tokens and a chat template (\`<|system|>\`, \`<|user|>\`, \`<|assistant|>\`, \`<|end|>\`).`,
    '',
    '## Data',
    '',
    `- Mix of documents drawn: home-assistant dialogues ${pct(c.mix.home)}, coding-agent dialogues ${pct(c.mix.coding)}, general text ${pct(c.mix.general)}; ${pct(c.mix.stated)} of dialogues state their style or role in a system turn (profile, memory notes or an earlier correction), the rest leave it unstated.`,
    `- Share of training tokens: home ${share(log.tokensByKind.home)}, coding ${share(log.tokensByKind.coding)}, general text ${share(log.tokensByKind.general)}.`,
    `- General text: ${generalTextSource.name}. Licence: ${generalTextSource.licence}. Addresses from years ending in 7 are held out.`,
    '- The world (src/world) is generated from a seed; the judges (src/world/judges) score replies from their text alone.',
    '',
    '## Training',
    '',
    `- ${log.train.length.toLocaleString('en-US')} steps in all of ${c.batch} x ${c.contextLength} tokens = ${log.tokensSeen.toLocaleString('en-US')} tokens, AdamW (betas 0.9/0.95, weight decay ${c.weightDecay} on matrices), gradient clipping at ${c.clipNorm}.`,
    `- Main run: ${c.steps.toLocaleString('en-US')} steps on the mix above, peak LR ${c.peakLr} after ${c.warmupSteps} warm-up steps, cosine decay to ${c.minLr}.`,
    ...(c.phases ?? []).map((phase, i) => `- Then curriculum phase ${i + 1}, ${phase.steps} steps (LR ${phase.peakLr} to ${phase.minLr}), so that ${phase.purpose}: home ${pct(phase.mix.home)}, coding ${pct(phase.mix.coding)}, general ${pct(phase.mix.general)}, stated ${pct(phase.mix.stated)}, request code in an unrelated style ${pct(phase.mix.randomRequestSyntax ?? 0.5)}${phase.mix.syntaxRoles === undefined ? '' : `, roles that write code (fixer, machine) ${pct(phase.mix.syntaxRoles)}`}${phase.lossOn === 'replies' ? '; loss on assistant turns and general text only' : ''}.`),
    `- Wall time: ${(log.seconds / 60).toFixed(1)} minutes on a 2-core CPU.`,
    `- Final training loss (mean of the last 50 steps): ${trainLoss.toFixed(3)} nats/token.`,
    lastEval ? `- Held-out loss at step ${lastEval.step}: home ${lastEval.losses.home.toFixed(3)}, coding ${lastEval.losses.coding.toFixed(3)}, general text ${lastEval.losses.general.toFixed(3)} nats/token.` : '- No held-out evaluation recorded.',
    '',
    '![loss curve](loss-curve.svg)',
    '',
  ];
  if (suite !== null) {
    lines.push('## Base probes (`imprint eval --suite base`)', '',
      `${suite.settings.promptsPerDomain} prompts per domain and condition, seed ${suite.settings.seed}; sampling temperature ${suite.settings.temperature} with the style stated, ${suite.settings.unstatedTemperature} (the model's own distribution) without; fact questions answered greedily.`, '',
      '| probe | value | bar | |', '|---|---|---|---|');
    for (const row of qualityBars(suite)) lines.push(`| ${row.name} | ${row.value} | ${row.bar} | ${row.pass ? 'pass' : 'FAIL'} |`);
    lines.push(`| general-text held-out loss | ${suite.general.heldOutLoss} nats/token | reported | |`, '', '## Samples', '');
    suite.samples.slice(0, 10).forEach((s, i) => {
      // A one-line request stays inline; a request with code keeps its lines.
      const user = s.prompt.includes('\n') ? ['*user:*', '', ...codeBlock('text', s.prompt), ''] : [`*user:* ${s.prompt}`, ''];
      lines.push(`**${i + 1}.**${s.context ? ` *context:* ${s.context.replace(/\n/g, ' ')}` : ''}`, '', ...user, '*reply:*', '', ...codeBlock('text', s.reply), '');
    });
  }
  lines.push('## Rebuild', '', 'From a fresh clone (`npm ci` first):', '', '```sh', input.command, '```', '',
    'The run is deterministic for a given thread count; it checkpoints as it goes and continues after an interruption with `--resume`.', '');
  return lines.join('\n');
}
