// A CLI command's exit code and output whether it succeeded or failed, for tests that expect a failure.
export interface ExecOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export async function outcome(command: Promise<{ stdout: string; stderr: string }>): Promise<ExecOutcome> {
  try {
    return { code: 0, ...(await command) };
  } catch (err) {
    const failed = err as Partial<ExecOutcome>;
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(err) };
  }
}
