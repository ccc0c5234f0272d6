import { CheckpointFormatError } from '../../io/errors.js';
import { NpzFile, type NpyArray } from '../../io/npz.js';
import { SparseAutoencoder } from './sparseAutoencoder.js';

// Gemma Scope's JumpReLU SAEs ship as params.npz with W_enc [d_in, d_sae],
// W_dec [d_sae, d_in], b_enc [d_sae], b_dec [d_in] and threshold [d_sae]. They
// encode the raw activation (no b_dec subtraction):
//   z = JumpReLU(x W_enc + b_enc; threshold),  x̂ = z W_dec + b_dec.
// The archive does not say where the SAE reads, so the caller names the hook
// (the release's folder, e.g. layer_12/width_16k/..., gives the layer).

export interface GemmaScopeOptions {
  /** e.g. 'blocks.12.post' (or 'blocks.12.hook_resid_post'). */
  hookName: string;
  modelName?: string;
}

export function loadGemmaScope(npzPath: string, options: GemmaScopeOptions): SparseAutoencoder {
  const file = NpzFile.open(npzPath);
  try {
    return gemmaScopeFromArchive(file, npzPath, options);
  } finally {
    file.close();
  }
}

/** The same, from an archive already open (or held in memory). */
export function gemmaScopeFromArchive(file: NpzFile, label: string, options: GemmaScopeOptions): SparseAutoencoder {
  const read = (name: string): NpyArray => {
    // Some exports spell the matrices in lower case (w_enc); SAELens accepts both.
    const stored = file.has(name) ? name : file.has(name.toLowerCase()) ? name.toLowerCase() : null;
    if (stored === null) throw new CheckpointFormatError(label, `missing array '${name}'; a Gemma Scope params.npz holds W_enc, W_dec, b_enc, b_dec and threshold (found ${file.names.join(', ') || 'nothing'})`);
    return file.readArray(stored);
  };
  const encoder = read('W_enc');
  if (encoder.shape.length !== 2) throw new CheckpointFormatError(label, `array 'W_enc' has shape (${encoder.shape.join(', ')}), expected (d_in, d_sae)`);
  const [dIn, dSae] = encoder.shape;
  const expect = (name: string, shape: number[]): Float32Array => {
    const array = read(name);
    if (array.shape.length !== shape.length || array.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointFormatError(label, `array '${name}' has shape (${array.shape.join(', ')}), expected (${shape.join(', ')}) to match W_enc (d_in=${dIn}, d_sae=${dSae})`);
    }
    return array.data;
  };
  return new SparseAutoencoder(
    { architecture: 'jumprelu', dIn, dSae, hookName: options.hookName, modelName: options.modelName, applyBDecToInput: false },
    {
      encoderWeight: encoder.data,
      decoderWeight: expect('W_dec', [dSae, dIn]),
      encoderBias: expect('b_enc', [dSae]),
      decoderBias: expect('b_dec', [dIn]),
      threshold: expect('threshold', [dSae]),
    },
  );
}
