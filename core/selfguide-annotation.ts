// SELF-GUIDE stage 3 after sampling: each input's samples are filtered and voted on, classification answers must
// be labels, and classes are balanced. Pure and seeded.
import { outputSampleFilter, type FilterRules, type OutputFilterSpec } from './selfguide-filters';
import { seededSample } from './stats';
import type { IoExample } from './types';

/**
 * The most frequent sample if it makes up at least `minShare` of `sampleCount` samples; ties go to the shortest
 * answer, then the first seen. Samples are compared trimmed.
 */
export function majorityAnswer(keptSamples: readonly string[], sampleCount: number, minShare: number): string | null {
  const counts = new Map<string, number>();
  for (const sample of keptSamples) counts.set(sample.trim(), (counts.get(sample.trim()) ?? 0) + 1);
  let best: string | null = null;
  let bestCount = 0;
  for (const [answer, count] of counts) {
    if (count > bestCount || (count === bestCount && best !== null && [...answer].length < [...best].length)) {
      best = answer;
      bestCount = count;
    }
  }
  return best !== null && bestCount >= minShare * sampleCount ? best : null;
}

/** Downsamples every label to the rarest present label's count; the kept pairs stay in their original order. */
export function balanceLabels(pairs: readonly IoExample[], seed: number): IoExample[] {
  const byLabel = new Map<string, number[]>();
  pairs.forEach((pair, i) => byLabel.set(pair.output, [...(byLabel.get(pair.output) ?? []), i]));
  if (byLabel.size === 0) return [];
  const rarest = Math.min(...[...byLabel.values()].map((indices) => indices.length));
  const chosen = new Set<number>();
  [...byLabel.keys()]
    .sort()
    .forEach((label, i) => seededSample(byLabel.get(label)!, rarest, seed + i).forEach((index) => chosen.add(index)));
  return pairs.filter((_, i) => chosen.has(i));
}

export interface AnnotatedInput {
  input: string;
  /** Every sample drawn for the input, as the model wrote it. */
  samples: string[];
}

export type AnnotationDropReason = 'no-majority' | 'not-a-label' | 'balancing';

export interface AnnotationSpec extends OutputFilterSpec {
  kind: 'classification' | 'generation';
  labels: readonly string[];
  /** Share of the samples the winning answer needs (the paper: 0.3). */
  minShare: number;
  /** What the share counts: the samples left after the filters (the authors' code) or all samples drawn. */
  shareOf: 'kept' | 'all';
  /** Whose sample filters apply; absent: ours. */
  filters?: FilterRules;
  seed: number;
}

export interface SyntheticData {
  pairs: IoExample[];
  dropped: Record<AnnotationDropReason, number>;
}

/** One input's vote: the samples the filters let vote, and the answer they elect or why the input gets none. */
export type AnnotationVote = { voters: string[] } & (
  { answer: string; dropped: null } | { answer: string | null; dropped: Exclude<AnnotationDropReason, 'balancing'> }
);

/** The vote on one input's samples as `synthesizePairs` takes it, before classes are balanced. */
export function annotationVoter(spec: AnnotationSpec): (samples: readonly string[]) => AnnotationVote {
  const keptOf = outputSampleFilter(spec, spec.filters ?? 'ours');
  return (samples) => {
    const voters = keptOf(samples);
    const answer = majorityAnswer(voters, spec.shareOf === 'kept' ? voters.length : samples.length, spec.minShare);
    // Only the authors' filters let a blank sample vote; when it wins, their annotator keeps no pair.
    if (answer === null || answer === '') return { voters, answer: null, dropped: 'no-majority' };
    if (spec.kind === 'classification' && !spec.labels.includes(answer))
      return { voters, answer, dropped: 'not-a-label' };
    return { voters, answer, dropped: null };
  };
}

/** Votes each input's samples into one answer, keeps classification answers that are labels, then balances classes. */
export function synthesizePairs(annotated: readonly AnnotatedInput[], spec: AnnotationSpec): SyntheticData {
  const vote = annotationVoter(spec);
  const dropped: Record<AnnotationDropReason, number> = { 'no-majority': 0, 'not-a-label': 0, balancing: 0 };
  const voted: IoExample[] = [];
  for (const { input, samples } of annotated) {
    const result = vote(samples);
    if (result.dropped) dropped[result.dropped]++;
    else voted.push({ input: input.trim(), output: result.answer });
  }
  if (spec.kind === 'generation') return { pairs: voted, dropped };
  const pairs = balanceLabels(voted, spec.seed);
  dropped.balancing = voted.length - pairs.length;
  return { pairs, dropped };
}
