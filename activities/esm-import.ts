// ESM-only packages (stemmer, node-llama-cpp) from this CommonJS project. tsconfig's `module: node16` keeps import()
// a real import() in the CommonJS output, so under tsx and in the tsc build Node's own loader runs it. require(esm)
// is no option: node-llama-cpp has top-level await, and jest on Node 20 cannot require ESM at all.
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

/** Imports an installed ESM-only package by name. */
export async function importEsmPackage<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (err) {
    if (!String((err as { code?: unknown }).code).startsWith('ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING')) throw err;
    return importInMainContext<T>(pathToFileURL(require.resolve(name)).href);
  }
}

/**
 * Jest runs modules in a vm context whose import() needs --experimental-vm-modules; with that flag jest would load
 * node-llama-cpp in its own realm, where the package's `instanceof Array` checks on native results fail. The main
 * context's loader loads the package as production does.
 */
function importInMainContext<T>(url: string): Promise<T> {
  const load = vm.runInThisContext('(url) => import(url)', {
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  }) as (url: string) => Promise<T>;
  return load(url);
}
