// Constants and types of the GGUF container (ggml's docs/gguf.md), shared by our
// writer and reader. Only what we write or must recognise lives here: tensor
// types beyond F32/F16 are kept as raw numbers by the reader.

/** "GGUF" read as a little-endian uint32. */
export const GGUF_MAGIC = 0x46554747;
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** Key under which a non-default alignment is recorded. */
export const GGUF_ALIGNMENT_KEY = 'general.alignment';
/** ggml's GGML_MAX_DIMS: llama.cpp refuses tensors with more dimensions. */
export const GGUF_MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME counts the terminating NUL, so names get one byte less. */
export const GGUF_MAX_TENSOR_NAME_BYTES = 63;

export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

export const GgmlType = { F32: 0, F16: 1 } as const;
export type GgmlTypeName = keyof typeof GgmlType;

export const GGML_TYPE_BYTES: Readonly<Record<number, number>> = { [GgmlType.F32]: 4, [GgmlType.F16]: 2 };

/** general.file_type: the dominant storage type of a model's weights. */
export const GgufFileType = { ALL_F32: 0, MOSTLY_F16: 1 } as const;

/** tokenizer.ggml.token_type values, as llama.cpp reads them. */
export const GgufTokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export type GgufScalarTypeName =
  | 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32'
  | 'uint64' | 'int64' | 'float32' | 'float64' | 'bool' | 'string';

export const GGUF_SCALAR_TYPES: Readonly<Record<GgufScalarTypeName, GgufValueType>> = {
  uint8: GgufValueType.UINT8,
  int8: GgufValueType.INT8,
  uint16: GgufValueType.UINT16,
  int16: GgufValueType.INT16,
  uint32: GgufValueType.UINT32,
  int32: GgufValueType.INT32,
  uint64: GgufValueType.UINT64,
  int64: GgufValueType.INT64,
  float32: GgufValueType.FLOAT32,
  float64: GgufValueType.FLOAT64,
  bool: GgufValueType.BOOL,
  string: GgufValueType.STRING,
};

/**
 * A metadata value to write. 64-bit integers accept a bigint or a safe integer.
 * The reader gives back numbers for every numeric type except uint64/int64,
 * which always come back as bigint (they may exceed 2^53).
 */
export type GgufMetadataValue =
  | { type: GgufScalarTypeName; value: number | boolean | string | bigint }
  | { type: 'array'; itemType: GgufScalarTypeName; value: Array<string | number | boolean | bigint> };
