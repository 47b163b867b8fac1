// Runs before the app's modules: the renderer's CSP has no 'unsafe-eval', and zod 4 would otherwise probe
// `new Function()` when the contract's schemas are built (for its JIT parser), which the CSP reports as a
// violation. zod reads this global config when it loads; jitless parsing is plenty fast for the UI.
globalThis.__zod_globalConfig = Object.assign(globalThis.__zod_globalConfig || {}, { jitless: true });
