/**
 * Two pages from one build: the dashboard (index.html, served at `/`) and the contributor page
 * (contribute.html, served at `/contribute`). The gateway serves `dist/` itself
 * (packages/gateway/src/api/web.ts); `npm run dev` proxies the API to a local gateway.
 */
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const gateway = process.env.LODE_GATEWAY ?? 'http://127.0.0.1:7070';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: { index: 'index.html', contribute: 'contribute.html' },
      output: {
        // chart.js only on the dashboard, React on both; the rest is split by Rollup (the
        // ledger's chain code loads only when a gateway has a ledger).
        manualChunks(id) {
          if (/node_modules\/(chart\.js|react-chartjs-2|@kurkle)\//.test(id)) return 'charts';
          if (/node_modules\/(react|react-dom|scheduler)\//.test(id)) return 'react';
          return undefined;
        },
      },
      onwarn(warning, warn) {
        // zod ships comments Rollup cannot place; harmless, and not ours to fix.
        if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('/zod/')) return;
        warn(warning);
      },
    },
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/v1': { target: gateway, ws: true },
      '/metrics': gateway,
      '/healthz': gateway,
      '/rpc': gateway,
    },
  },
});
