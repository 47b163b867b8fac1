/**
 * electron-vite: main (electron/main.ts plus the core host entry core/host.ts, both ESM, dependencies
 * external so the native modules load from node_modules), the sandboxed preload bundled whole as CJS,
 * and the renderer from renderer/vite.config.ts.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { rendererConfig } from './renderer/vite.config';

const root = import.meta.dirname;

export default defineConfig({
  main: {
    build: {
      outDir: resolve(root, 'out/main'),
      // Dependencies load from node_modules at run time; the native ones must (and are unpacked from asar).
      // @duckdb/node-bindings is a transitive dependency that core imports directly.
      externalizeDeps: { include: ['@duckdb/node-api', '@duckdb/node-bindings', 'better-sqlite3'] },
      rollupOptions: {
        input: { main: resolve(root, 'electron/main.ts'), host: resolve(root, 'core/host.ts') },
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: resolve(root, 'out/preload'),
      // A sandboxed preload can require only a few Electron modules: bundle everything into one file.
      externalizeDeps: false,
      rollupOptions: {
        input: { preload: resolve(root, 'electron/preload.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    ...rendererConfig,
    build: {
      ...rendererConfig.build,
      outDir: resolve(root, 'out/renderer'),
      rollupOptions: { input: resolve(root, 'renderer/index.html') },
    },
  },
});
