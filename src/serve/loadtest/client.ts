import { setTimeout as sleep } from 'node:timers/promises';
import { Random } from '../../tensor/index.js';

// The load: one loop per user over loopback HTTP (Node's fetch, keep-alive).
// Each iteration sends a chat completion (streamed or not, at random), then with
// probability `feedbackRate` a feedback on it (up, down, correction or
// preference, at random). Every request's latency, status and outcome is kept;
// a 429 waits its Retry-After (only a server with a rate limit sends one).

export interface LoadUser {
  name: string;
  key: string;
}

export interface LoadConfig {
  url: string;
  model: string;
  users: LoadUser[];
  durationS: number;
  maxTokens: number;
  feedbackRate: number;
  /** Share of completions sent with stream: true. */
  streamRate: number;
  seed: number;
  /** Each request's time limit. */
  requestTimeoutMs: number;
}

export interface RequestRecord {
  kind: 'completion' | 'feedback';
  user: string;
  stream: boolean;
  /** HTTP status; 0: no answer (network error or timeout). */
  status: number;
  ms: number;
  /** Streams: time to the first content token. */
  firstTokenMs?: number;
  completionTokens?: number;
  /** What went wrong: a network error, an error event inside a 200 stream, a malformed answer. */
  error?: string;
}

export interface LoadResult {
  records: RequestRecord[];
  /** From the first request sent to the last answer received. */
  wallS: number;
  acknowledged: Map<string, { completionId: string; feedbackId: string; jobId: number }[]>;
}

const PROMPTS = [
  'How late is Hobnail Tearoom open?', 'Set a timer for ten minutes.', 'What should I cook tonight?', 'Remind me to water the plants.',
  'Is it going to rain tomorrow?', 'Write a short note to my landlord about the heating.', 'Explain what a mutex is.', 'Turn off the kitchen lights.',
  'Where did I park the car?', 'Summarise my day in one line.', 'Book a table for two at seven.', 'What is a good name for a cat?',
];
const CORRECTIONS: [string, string][] = [
  ['Get to the point.', 'Done.'], ['Too long; one sentence.', 'It closes at 6 pm.'], ['Be warmer.', 'Of course, happy to help!'], ['Say what you did.', 'Timer set for ten minutes.'],
];
const PREFERENCES = ['Keep answers short.', 'Use a friendly tone.', 'Answer first, then explain.', 'No exclamation marks.'];


export async function runLoad(config: LoadConfig, onProgress?: (done: number) => void): Promise<LoadResult> {
  const records: RequestRecord[] = [];
  const acknowledged = new Map<string, { completionId: string; feedbackId: string; jobId: number }[]>();
  const start = performance.now();
  const deadline = start + config.durationS * 1000;
  let lastAnswer = start;
  const record = (r: RequestRecord) => {
    records.push(r);
    lastAnswer = performance.now();
    onProgress?.(records.length);
  };
  await Promise.all(config.users.map(async (user, index) => {
    // Seeded per user, so a run's mix of requests is reproducible.
    const rng = new Random(config.seed * 1000 + index + 1);
    const random = () => rng.uniform();
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
    acknowledged.set(user.name, []);
    const headers = { authorization: `Bearer ${user.key}`, 'content-type': 'application/json' };
    const backOff = async (response: Response | null) => {
      const after = Number(response?.headers.get('retry-after') ?? '0.1');
      await sleep(Math.min(Math.max(after, 0.05) * 1000, Math.max(0, deadline - performance.now())));
    };
    while (performance.now() < deadline) {
      const stream = random() < config.streamRate;
      const body = {
        model: config.model, messages: [{ role: 'user', content: pick(PROMPTS) }], max_tokens: config.maxTokens,
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      };
      const c = await completion(config, headers, body, stream);
      record({ kind: 'completion', user: user.name, stream, ...c.record });
      if (c.record.status === 429) { await backOff(c.response); continue; }
      if (c.id === null) { if (c.record.status === 0) await sleep(100); continue; }
      if (random() >= config.feedbackRate || performance.now() >= deadline) continue;
      const reaction = pick(['up', 'down', 'correction', 'preference'] as const);
      const [text, corrected] = pick(CORRECTIONS);
      const fbBody = reaction === 'correction' ? { completion_id: c.id, reaction, text, corrected_reply: corrected }
        : reaction === 'preference' ? { completion_id: c.id, reaction, text: pick(PREFERENCES) }
          : { completion_id: c.id, reaction };
      const t0 = performance.now();
      let response: Response | null = null;
      try {
        response = await fetch(`${config.url}/v1/feedback`, { method: 'POST', headers, body: JSON.stringify(fbBody), signal: AbortSignal.timeout(config.requestTimeoutMs) });
        const answer = await response.json() as { id?: string; job?: { id?: number } };
        const ms = performance.now() - t0;
        if (response.status === 202) {
          if (typeof answer.id !== 'string' || typeof answer.job?.id !== 'number') record({ kind: 'feedback', user: user.name, stream: false, status: response.status, ms, error: 'a 202 without a feedback id and job id' });
          else {
            acknowledged.get(user.name)!.push({ completionId: c.id, feedbackId: answer.id, jobId: answer.job.id });
            record({ kind: 'feedback', user: user.name, stream: false, status: 202, ms });
          }
        } else record({ kind: 'feedback', user: user.name, stream: false, status: response.status, ms });
      } catch (error) {
        record({ kind: 'feedback', user: user.name, stream: false, status: response?.status ?? 0, ms: performance.now() - t0, error: (error as Error).message });
      }
      if (response?.status === 429) await backOff(response);
    }
  }));
  return { records, wallS: (lastAnswer - start) / 1000, acknowledged };
}

async function completion(config: LoadConfig, headers: Record<string, string>, body: unknown, stream: boolean)
  : Promise<{ record: Omit<RequestRecord, 'kind' | 'user' | 'stream'>; id: string | null; response: Response | null }> {
  const t0 = performance.now();
  let response: Response | null = null;
  try {
    response = await fetch(`${config.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(config.requestTimeoutMs) });
    if (response.status !== 200 || !stream) {
      const answer = await response.json() as { id?: string; usage?: { completion_tokens?: number } };
      const ms = performance.now() - t0;
      if (response.status !== 200) return { record: { status: response.status, ms }, id: null, response };
      if (typeof answer.id !== 'string') return { record: { status: 200, ms, error: 'a 200 without a completion id' }, id: null, response };
      return { record: { status: 200, ms, completionTokens: answer.usage?.completion_tokens ?? 0 }, id: answer.id, response };
    }
    // Server-sent events: "data: JSON" blocks separated by a blank line, then "data: [DONE]".
    let id: string | null = null;
    let firstTokenMs: number | undefined;
    let tokens = 0;
    let done = false;
    let error: string | undefined;
    let buffer = '';
    const decoder = new TextDecoder();
    for await (const bytes of response.body!) {
      buffer += decoder.decode(bytes as Uint8Array, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = event.startsWith('data: ') ? event.slice(6) : '';
        if (data === '[DONE]') { done = true; continue; }
        const chunk = JSON.parse(data) as { id?: string; error?: { message?: string }; choices?: { delta?: { content?: string } }[]; usage?: { completion_tokens?: number } };
        if (chunk.error !== undefined) error = `error event in the stream: ${chunk.error.message ?? 'unknown'}`;
        if (typeof chunk.id === 'string') id = chunk.id;
        if (firstTokenMs === undefined && (chunk.choices?.[0]?.delta?.content ?? '') !== '') firstTokenMs = performance.now() - t0;
        if (chunk.usage?.completion_tokens !== undefined) tokens = chunk.usage.completion_tokens;
      }
    }
    const ms = performance.now() - t0;
    if (error === undefined && !done) error = 'the stream ended without data: [DONE]';
    return { record: { status: 200, ms, completionTokens: tokens, ...(firstTokenMs === undefined ? {} : { firstTokenMs }), ...(error === undefined ? {} : { error }) }, id: error === undefined ? id : null, response };
  } catch (error) {
    return { record: { status: response?.status ?? 0, ms: performance.now() - t0, error: (error as Error).message }, id: null, response };
  }
}
