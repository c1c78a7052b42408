// The GGUF container format's constants, shared by the reader and the writer (spec: ggml/docs/gguf.md).

/** "GGUF" read as a little-endian uint32. */
export const ggufMagic = 0x46554747;
export const ggufVersion = 3;
/** Tensor data, and each tensor within it, starts on a multiple of this unless `general.alignment` says otherwise. */
export const defaultAlignment = 32;

/** Metadata value types, as numbered on disk. */
export enum GgufValueType {
  Uint8 = 0,
  Int8 = 1,
  Uint16 = 2,
  Int16 = 3,
  Uint32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  Uint64 = 10,
  Int64 = 11,
  Float64 = 12,
}

/** The only ggml tensor type the writer produces; the reader reports any type by number. */
export const ggmlTypeF32 = 0;

export type GgufScalar = number | bigint | boolean | string;
export type GgufValue = GgufScalar | GgufValue[];

/** A metadata entry with the on-disk type it is (or is to be) stored as. */
export interface GgufEntry {
  type: GgufValueType;
  value: GgufValue;
  /** For arrays: the element type. */
  itemType?: GgufValueType;
}

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the fastest-varying (row length), as llama.cpp's `ne`. */
  dims: number[];
  /** A ggml_type number (0 = F32, 1 = F16, others quantized). */
  ggmlType: number;
  /** Byte offset of the tensor's data from the start of the data section. */
  offset: number;
}

export const alignUp = (value: number, alignment: number) => Math.ceil(value / alignment) * alignment;
