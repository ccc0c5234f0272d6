import type { FeatureSpace } from '../adapt/index.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { ChatEncoding } from '../learn/index.js';
import type { LoadedModel } from '../model/load.js';
import type { AdapterRegistry } from './adapterRegistry.js';
import type { Db } from './db.js';
import type { LearnerHost } from './learnerHost.js';
import type { AuthenticatedUser } from './users.js';

// What every route needs, built once by server.ts.

export interface ServeLimits {
  /** Largest max_tokens a request may ask for. */
  maxTokensLimit: number;
  /** max_tokens when a request gives none. */
  defaultMaxTokens: number;
  /** Sampling temperature when a request gives none. */
  defaultTemperature: number;
  /** Largest request body, in bytes (larger: 413). */
  bodyLimit: number;
}

export interface ServeContext {
  db: Db;
  dataDir: string;
  /** The id clients pass as "model" (the model directory's name). */
  modelId: string;
  bundleName: string;
  /** The bundle's features as the adapters use them (hook point, directions, encoders). */
  featureSpace: FeatureSpace;
  /** Each feature id's human label, from the bundle file. */
  featureLabels: Record<string, string>;
  loaded: LoadedModel;
  tokenizer: TextTokenizer;
  encoding: ChatEncoding;
  registry: AdapterRegistry;
  learner: LearnerHost | null;
  limits: ServeLimits;
  /** When the server started (seconds since the epoch; "created" of the model listing). */
  startedAt: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every request that reaches a handler. */
    caller: AuthenticatedUser;
  }
}
