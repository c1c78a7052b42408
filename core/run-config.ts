// Every method's run config, told apart by `method`. A new method adds its schema here.
import { z } from 'zod';
import { evaluateRunSchema } from './config';
import { selfguideCampaignSchema, selfguideRunSchema } from './selfguide-config';
import { semievolRunSchema } from './semievol-config';

export const runConfigSchema = z.discriminatedUnion('method', [
  evaluateRunSchema,
  selfguideRunSchema,
  selfguideCampaignSchema,
  semievolRunSchema,
]);
export type RunConfig = z.infer<typeof runConfigSchema>;
