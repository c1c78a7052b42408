// The project's custom search attributes: registered by `npm run server`, set by workflows, queried by `list`.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const searchAttributes = {
  method: defineSearchAttributeKey('FltMethod', SearchAttributeType.KEYWORD),
  task: defineSearchAttributeKey('FltTask', SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey('FltStage', SearchAttributeType.KEYWORD),
  baseModel: defineSearchAttributeKey('FltBaseModel', SearchAttributeType.KEYWORD),
  costUsd: defineSearchAttributeKey('FltCostUsd', SearchAttributeType.DOUBLE),
  accuracy: defineSearchAttributeKey('FltAccuracy', SearchAttributeType.DOUBLE),
};

/**
 * FltCostUsd as every workflow upserts it: rounded to a millionth of a dollar, so sums of per-token prices do not show
 * float noise (0.021361800000000004) in the Web UI.
 */
export function costUsdAttribute(usd: number) {
  return { key: searchAttributes.costUsd, value: Math.round(usd * 1e6) / 1e6 };
}

/** `Name=Type` pairs as `temporal server start-dev --search-attribute` takes them. */
export const searchAttributeFlags: string[] = Object.values(searchAttributes).map(
  (key) => `${key.name}=${key.type === SearchAttributeType.DOUBLE ? 'Double' : 'Keyword'}`,
);
