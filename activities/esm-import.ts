// Loading ESM-only packages from this CommonJS project: a real `import()` that TypeScript cannot rewrite to require().
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

/** Imports an installed ESM-only package by name. */
export async function importEsmPackage<T>(name: string): Promise<T> {
  const url = pathToFileURL(require.resolve(name)).href;
  try {
    return await (new Function('url', 'return import(url)') as (url: string) => Promise<T>)(url);
  } catch (err) {
    // Jest runs modules inside a vm context where import() needs --experimental-vm-modules; the main context's loader works there.
    if (!String((err as { code?: unknown }).code).startsWith('ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING')) throw err;
    const importInMainContext = vm.runInThisContext('(url) => import(url)', {
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }) as (url: string) => Promise<T>;
    return importInMainContext(url);
  }
}
