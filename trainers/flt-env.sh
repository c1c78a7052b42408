# Shared by the trainer recipes (sourced, not run): reading and checking the FLT_* environment that the `command`
# fine-tune backend (activities/providers/finetune/command.ts) gives a trainer.

# Exits 2 naming every listed variable that is unset or empty.
flt_require() {
  local missing=()
  local name
  for name in "$@"; do
    [ -n "${!name:-}" ] || missing+=("$name")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "$(basename "$0"): missing environment: ${missing[*]}" >&2
    exit 2
  fi
}

# Prints the variable's value, or the default when it is unset or empty; exits 2 when it is not a positive number.
flt_number() {
  local name=$1 fallback=$2
  local value=${!name:-$fallback}
  if ! [[ $value =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$ ]] || [[ $value =~ ^[0.]+([eE].*)?$ ]]; then
    echo "$(basename "$0"): $name must be a positive number, got '$value'" >&2
    exit 2
  fi
  printf '%s' "$value"
}

# A float PyYAML (YAML 1.1) reads as a float: it needs a dot and a signed exponent, so 1e-4 becomes 1.000000e-04.
flt_yaml_float() {
  printf '%.6e' "$1"
}

# Exits 2 unless the variable names an existing file or directory.
flt_existing() {
  local name=$1
  if [ ! -e "${!name}" ]; then
    echo "$(basename "$0"): $name points to ${!name}, which does not exist" >&2
    exit 2
  fi
}

# A YAML double-quoted scalar (backslashes and quotes escaped), so paths with spaces or colons stay one string.
flt_yaml_string() {
  local value=${1//\\/\\\\}
  printf '"%s"' "${value//\"/\\\"}"
}

# The command line, one shell-quoted word after another, as a dry run shows it.
flt_show_command() {
  printf '%q ' "$@"
  printf '\n'
}
