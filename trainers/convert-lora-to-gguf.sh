#!/usr/bin/env bash
# Converts the PEFT adapter a recipe left in FLT_OUTPUT_DIR into FLT_OUTPUT_DIR/adapter.gguf for llama.cpp serving
# (llama-server --lora, or node-llama-cpp's createContext({lora})), with llama.cpp's own converter. Chain it after a
# trainer in the backend's command, so the job's adapter directory holds both forms:
#   command: "bash trainers/llamafactory/train.sh && bash trainers/convert-lora-to-gguf.sh"
# Read: FLT_OUTPUT_DIR, FLT_BASE_MODEL (a local Hugging Face model directory, passed as --base, or a Hugging Face
# id, passed as --base-model-id so the converter fetches only its config), FLT_LLAMA_CPP_DIR (a llama.cpp checkout
# with its gguf-py requirements installed), and optionally FLT_GGUF_OUTTYPE (f16; f32, bf16, q8_0 or auto) and
# FLT_PYTHON (python3). FLT_DRY_RUN=1 prints the command without running it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=flt-env.sh
source "$here/flt-env.sh"

flt_require FLT_OUTPUT_DIR FLT_BASE_MODEL FLT_LLAMA_CPP_DIR
outtype=${FLT_GGUF_OUTTYPE:-f16}
case $outtype in
  f32 | f16 | bf16 | q8_0 | auto) ;;
  *)
    echo "convert-lora-to-gguf.sh: FLT_GGUF_OUTTYPE must be f32, f16, bf16, q8_0 or auto, got '$outtype'" >&2
    exit 2
    ;;
esac
if [ -d "$FLT_BASE_MODEL" ]; then
  base=(--base "$FLT_BASE_MODEL")
else
  base=(--base-model-id "$FLT_BASE_MODEL")
fi
command=("${FLT_PYTHON:-python3}" "$FLT_LLAMA_CPP_DIR/convert_lora_to_gguf.py" "${base[@]}"
  --outtype "$outtype" --outfile "$FLT_OUTPUT_DIR/adapter.gguf" "$FLT_OUTPUT_DIR")

if [ "${FLT_DRY_RUN:-0}" = 1 ]; then
  echo "# dry run: command"
  flt_show_command "${command[@]}"
  exit 0
fi
flt_existing FLT_LLAMA_CPP_DIR
if [ ! -f "$FLT_OUTPUT_DIR/adapter_config.json" ]; then
  echo "convert-lora-to-gguf.sh: no PEFT adapter (adapter_config.json) in $FLT_OUTPUT_DIR" >&2
  exit 2
fi
exec "${command[@]}"
