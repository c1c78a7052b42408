// The CLI's Temporal client, and the error type whose message is shown to the user as it is.
import { Client, Connection } from '@temporalio/client';
import { dataConverter } from '../lib/payload-codec';
import { temporalConnectConfig } from '../lib/temporal';

/** An error meant for the person at the terminal: one sentence saying what is wrong and what to do. */
export class UserError extends Error {}

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
