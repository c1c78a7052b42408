#!/usr/bin/env python3
"""LoRA SFT with TRL and PEFT, configured from the FLT_* environment of the `command` fine-tune backend.

    fineTune: {backend: {kind: command, command: "python3 /path/to/trainers/trl/train_lora.py", ...}}

Defaults are the SemiEvol authors' LLaMA-Factory settings: rank 16 on all linear layers, cosine schedule with 10%
warm-up, 1,024-token cutoff, 5% held out, 2 epochs at 1e-4, batch 1 x 8 gradient accumulation, loss on the final
assistant answer only. FLT_INIT_ADAPTER continues a PEFT adapter instead (default rate 1e-6, as the authors' final
stage). FLT_DRY_RUN=1 checks the environment and prints the resolved settings as JSON; it imports nothing beyond the
standard library, so it runs where no ML stack is installed.

Written against TRL 0.20+ (SFTConfig.max_length, completion_only_loss) and PEFT 0.15+; not run in this repository.
"""
import json
import os
import sys


class UsageError(Exception):
    pass


def required(name):
    value = os.environ.get(name, "")
    if not value:
        raise UsageError(f"{name} is not set")
    return value


def positive(name, default, kind=float):
    text = os.environ.get(name, "")
    if text == "":
        return default
    try:
        value = kind(text)
    except ValueError:
        raise UsageError(f"{name} must be a positive number, got {text!r}") from None
    if not value > 0:
        raise UsageError(f"{name} must be a positive number, got {text!r}")
    return value


def existing(name, path):
    if not os.path.exists(path):
        raise UsageError(f"{name} points to {path}, which does not exist")
    return path


def resolve_settings():
    """Every setting the run uses, from the environment and the defaults; raises UsageError when incomplete."""
    missing = [n for n in ("FLT_TRAIN_FILE", "FLT_OUTPUT_DIR", "FLT_BASE_MODEL") if not os.environ.get(n)]
    if missing:
        raise UsageError(f"missing environment: {' '.join(missing)}")
    if os.environ.get("FLT_LORA", "1") == "0":
        raise UsageError("FLT_LORA=0 asks for full fine-tuning; this recipe trains LoRA adapters only")
    init_adapter = os.environ.get("FLT_INIT_ADAPTER") or None
    if init_adapter:
        existing("FLT_INIT_ADAPTER", init_adapter)
    return {
        "train_file": existing("FLT_TRAIN_FILE", required("FLT_TRAIN_FILE")),
        "output_dir": required("FLT_OUTPUT_DIR"),
        "base_model": required("FLT_BASE_MODEL"),
        "run_name": os.environ.get("FLT_JOB_NAME") or "flt-lora",
        "init_adapter": init_adapter,
        "epochs": positive("FLT_EPOCHS", 2.0),
        "learning_rate": positive("FLT_LEARNING_RATE", 1e-6 if init_adapter else 1e-4),
        "batch_size": positive("FLT_BATCH_SIZE", 1, int),
        "gradient_accumulation": positive("FLT_GRADIENT_ACCUMULATION", 8, int),
        "lora_rank": positive("FLT_LORA_RANK", 16, int),
        "lora_alpha": positive("FLT_LORA_ALPHA", 32, int),
        "cutoff_len": positive("FLT_CUTOFF_LEN", 1024, int),
        "val_size": positive("FLT_VAL_SIZE", 0.05),
        "lr_scheduler": "cosine",
        "warmup_ratio": 0.1,
        "target_modules": "all-linear",
        "loss_on": "final assistant answer",
        "seed": positive("FLT_SEED", 42, int),
    }


def to_prompt_completion(example):
    """Splits a chat before its last turn, which must be the assistant's: TRL then trains on that answer alone."""
    messages = example["messages"]
    if not messages or messages[-1]["role"] != "assistant":
        raise ValueError("every training example must end with an assistant message")
    return {"prompt": messages[:-1], "completion": messages[-1:]}


def train(settings):
    # Imported here so that a dry run needs none of them.
    from datasets import load_dataset
    from peft import LoraConfig, PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    data = load_dataset("json", data_files=settings["train_file"], split="train")
    data = data.map(to_prompt_completion, remove_columns=data.column_names)
    split = data.train_test_split(test_size=settings["val_size"], seed=settings["seed"])

    tokenizer = AutoTokenizer.from_pretrained(settings["base_model"])
    model = AutoModelForCausalLM.from_pretrained(settings["base_model"], torch_dtype="auto")
    peft_config = None
    if settings["init_adapter"]:
        model = PeftModel.from_pretrained(model, settings["init_adapter"], is_trainable=True)
    else:
        peft_config = LoraConfig(
            r=settings["lora_rank"],
            lora_alpha=settings["lora_alpha"],
            lora_dropout=0.0,
            target_modules=settings["target_modules"],
            task_type="CAUSAL_LM",
        )

    config = SFTConfig(
        output_dir=settings["output_dir"],
        run_name=settings["run_name"],
        num_train_epochs=settings["epochs"],
        learning_rate=settings["learning_rate"],
        lr_scheduler_type=settings["lr_scheduler"],
        warmup_ratio=settings["warmup_ratio"],
        per_device_train_batch_size=settings["batch_size"],
        gradient_accumulation_steps=settings["gradient_accumulation"],
        max_length=settings["cutoff_len"],
        completion_only_loss=True,
        eval_strategy="epoch",
        save_strategy="no",
        logging_steps=10,
        report_to="none",
        seed=settings["seed"],
        bf16=os.environ.get("FLT_BF16", "true") == "true",
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=split["train"],
        eval_dataset=split["test"],
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    trainer.train()
    # Writes adapter_config.json and adapter_model.safetensors, what convert_lora_to_gguf.py reads.
    trainer.save_model(settings["output_dir"])


def main():
    try:
        settings = resolve_settings()
    except UsageError as error:
        print(f"train_lora.py: {error}", file=sys.stderr)
        return 2
    if os.environ.get("FLT_DRY_RUN") == "1":
        print(json.dumps(settings, indent=2))
        return 0
    train(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
