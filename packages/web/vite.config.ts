/**
 * Two pages from one build: the dashboard (index.html, served at `/`) and the contributor page
 * (contribute.html, served at `/contribute`). The gateway serves `dist/` itself
 * (packages/gateway/src/http/webRoutes.ts); `npm run dev` proxies the API to a local gateway.
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
        // chart.js only on the dashboard; viem and zod are shared by both pages.
        manualChunks: (id) => (id.includes('node_modules/chart.js') || id.includes('node_modules/react-chartjs-2') ? 'charts' : undefined),
      },
    },
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/v1': { target: gateway, ws: true },
      '/metrics': gateway,
      '/healthz': gateway,
    },
  },
});
