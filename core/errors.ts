// The failure types that no retry can fix: activities throw them (as ApplicationFailure types or error names) and
// every activity preset in workflows/activity-options.ts lists them as non-retryable, so a run fails at once.

/** Bad data: a malformed artifact reference or name, records that do not parse or validate. */
export const InvalidInput = 'InvalidInput';

/** An artifact a reference points to is not in the store (a deleted store, another machine's reference). */
export const MissingArtifact = 'MissingArtifact';

/** The artifact store holds a corrupt blob (hash or record count differs from its reference) or a symbolic link. */
export const ArtifactStoreIntegrity = 'ArtifactStoreIntegrity';

/** A config that reached a worker but cannot work there: an unknown provider, a provider that cannot embed. */
export const InvalidConfig = 'InvalidConfig';

/** An API key the config names (its `apiKeyEnv`) is not set in the worker's environment; the message names it. */
export const MissingSecret = 'MissingSecret';

export const nonRetryableErrorTypes: readonly string[] = [
  InvalidInput,
  MissingArtifact,
  ArtifactStoreIntegrity,
  InvalidConfig,
  MissingSecret,
];

/**
 * An error whose name is one of the types above. Provider code throws these: the provider error classifier turns
 * any error into a failure of its name's type, prefixed with the call that failed.
 */
export function typedError(type: string, message: string): Error {
  const error = new Error(message);
  error.name = type;
  return error;
}
