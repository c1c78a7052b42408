#!/usr/bin/env bash
# LoRA SFT with LLaMA-Factory, configured from the FLT_* environment of the `command` fine-tune backend:
#   fineTune: {backend: {kind: command, command: "bash /path/to/trainers/llamafactory/train.sh", ...}}
# FLT_DRY_RUN=1 checks the environment and prints the config and command without running anything.
# Read: FLT_TRAIN_FILE, FLT_OUTPUT_DIR, FLT_BASE_MODEL (Hugging Face id or directory), FLT_LF_TEMPLATE (LLaMA-Factory
# chat template of the base model, e.g. llama3, qwen), and optionally FLT_EPOCHS (2), FLT_LEARNING_RATE (1e-4, or 1e-6
# when continuing), FLT_INIT_ADAPTER (a PEFT adapter directory to continue training), FLT_JOB_NAME, FLT_LORA (must not
# be 0), FLT_BATCH_SIZE (1), FLT_GRADIENT_ACCUMULATION (8), FLT_LORA_RANK (16), FLT_LORA_ALPHA (32),
# FLT_CUTOFF_LEN (1024), FLT_VAL_SIZE (0.05), FLT_BF16 (true), FLT_LLAMAFACTORY_CLI (llamafactory-cli).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../flt-env.sh
source "$here/../flt-env.sh"

flt_require FLT_TRAIN_FILE FLT_OUTPUT_DIR FLT_BASE_MODEL FLT_LF_TEMPLATE
flt_existing FLT_TRAIN_FILE
if [ "${FLT_LORA:-1}" = 0 ]; then
  echo "train.sh: FLT_LORA=0 asks for full fine-tuning; this recipe trains LoRA adapters only" >&2
  exit 2
fi
if [ -n "${FLT_INIT_ADAPTER:-}" ]; then
  flt_existing FLT_INIT_ADAPTER
  # The authors' final stage continues the warm-up adapter on pseudo-labels at a much lower rate.
  default_lr=1e-6
else
  default_lr=1e-4
fi
epochs=$(flt_number FLT_EPOCHS 2)
learning_rate=$(flt_number FLT_LEARNING_RATE "$default_lr")
batch_size=$(flt_number FLT_BATCH_SIZE 1)
gradient_accumulation=$(flt_number FLT_GRADIENT_ACCUMULATION 8)
lora_rank=$(flt_number FLT_LORA_RANK 16)
lora_alpha=$(flt_number FLT_LORA_ALPHA 32)
cutoff_len=$(flt_number FLT_CUTOFF_LEN 1024)
val_size=$(flt_number FLT_VAL_SIZE 0.05)
bf16=${FLT_BF16:-true}
cli=${FLT_LLAMAFACTORY_CLI:-llamafactory-cli}

# LLaMA-Factory reads datasets through a registry file; the config and registry live next to the adapter directory.
work_dir="${FLT_OUTPUT_DIR%/}.llamafactory"
train_file=$(cd "$(dirname "$FLT_TRAIN_FILE")" && pwd)/$(basename "$FLT_TRAIN_FILE")
dataset_info=$(
  cat <<JSON
{
  "flt_train": {
    "file_name": $(flt_yaml_string "$train_file"),
    "formatting": "sharegpt",
    "columns": { "messages": "messages" },
    "tags": {
      "role_tag": "role",
      "content_tag": "content",
      "user_tag": "user",
      "assistant_tag": "assistant",
      "system_tag": "system"
    }
  }
}
JSON
)

# The template keeps this line a comment unless an adapter is continued.
init_adapter="# no adapter_name_or_path: a new adapter is trained"
if [ -n "${FLT_INIT_ADAPTER:-}" ]; then
  init_adapter="adapter_name_or_path: $(flt_yaml_string "$FLT_INIT_ADAPTER")"
fi
config=$(<"$here/lora-sft.template.yaml")
# The replacement is quoted so that bash 5.2 does not expand & in it to the matched text.
fill() { config=${config//"__$1__"/"$2"}; }
fill BASE_MODEL "$(flt_yaml_string "$FLT_BASE_MODEL")"
config=${config//"# __INIT_ADAPTER__"/"$init_adapter"}
fill LORA_RANK "$lora_rank"
fill LORA_ALPHA "$lora_alpha"
fill DATASET_DIR "$(flt_yaml_string "$work_dir")"
fill TEMPLATE "$(flt_yaml_string "$FLT_LF_TEMPLATE")"
fill CUTOFF_LEN "$cutoff_len"
fill OUTPUT_DIR "$(flt_yaml_string "$FLT_OUTPUT_DIR")"
fill RUN_NAME "$(flt_yaml_string "${FLT_JOB_NAME:-flt-lora}")"
fill BATCH_SIZE "$batch_size"
fill GRADIENT_ACCUMULATION "$gradient_accumulation"
fill LEARNING_RATE "$(flt_yaml_float "$learning_rate")"
fill EPOCHS "$epochs"
fill BF16 "$bf16"
fill VAL_SIZE "$(flt_yaml_float "$val_size")"
if [[ $config =~ __[A-Z_]+__ ]]; then
  echo "train.sh: unfilled placeholder in lora-sft.template.yaml" >&2
  exit 1
fi

command=("$cli" train "$work_dir/lora-sft.yaml")
if [ "${FLT_DRY_RUN:-0}" = 1 ]; then
  echo "# dry run: $work_dir/dataset_info.json"
  echo "$dataset_info"
  echo "# dry run: $work_dir/lora-sft.yaml"
  echo "$config"
  echo "# dry run: command"
  flt_show_command "${command[@]}"
  exit 0
fi

if ! command -v "$cli" >/dev/null; then
  echo "train.sh: $cli not found; install LLaMA-Factory or set FLT_LLAMAFACTORY_CLI" >&2
  exit 127
fi
mkdir -p "$work_dir"
printf '%s\n' "$dataset_info" >"$work_dir/dataset_info.json"
printf '%s\n' "$config" >"$work_dir/lora-sft.yaml"
exec "${command[@]}"
