// Every method's run config, told apart by `method`. A new method adds its schema here.
import { z } from 'zod';
import { evaluateRunSchema } from './config';

export const runConfigSchema = z.discriminatedUnion('method', [evaluateRunSchema]);
export type RunConfig = z.infer<typeof runConfigSchema>;
