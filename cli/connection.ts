// The CLI's Temporal client, and the error type whose message is shown to the user as it is.
import { Client, Connection } from '@temporalio/client';
import { InvalidArgumentError } from 'commander';
import { identifierRule, isIdentifier } from '../core/config';
import { dataConverter } from '../lib/payload-codec';
import { temporalConnectConfig } from '../lib/temporal';

/** An error meant for the person at the terminal: one sentence saying what is wrong and what to do. */
export class UserError extends Error {}

/** `--id <runId>`: checked as the command line is read, before anything is loaded, called or started. */
export function runIdArgument(value: string): string {
  if (!isIdentifier(value, 200)) throw new InvalidArgumentError(`A run id ${identifierRule(200)}.`);
  return value;
}

export async function connect(): Promise<Client> {
  const { connectionOptions, namespace } = temporalConnectConfig();
  try {
    const connection = await Connection.connect({ ...connectionOptions, connectTimeout: '5 seconds' });
    return new Client({ connection, namespace, dataConverter: dataConverter() });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new UserError(
      `Cannot reach Temporal at ${connectionOptions.address} (${reason}); ` +
        'start a local server with `npm run server` or set TEMPORAL_ADDRESS.',
    );
  }
}
