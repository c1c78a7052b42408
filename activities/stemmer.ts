// The Porter stemmer for ROUGE-L (wooorm's `stemmer`, Porter's original algorithm), loaded once per worker.
import type { Stemmer } from '../core/text-metrics';
import { importEsmPackage } from './esm-import';

let loaded: Promise<Stemmer> | undefined;

export function porterStemmer(): Promise<Stemmer> {
  loaded ??= importEsmPackage<{ stemmer: Stemmer }>('stemmer').then((m) => m.stemmer);
  return loaded;
}
