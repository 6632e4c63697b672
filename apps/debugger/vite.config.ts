import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/** `MMSIM_LOG=x.mmlog npm run dev -w @mmsim/debugger`: the dev server serves that log as `mmsim serve` does. */
function devLog(): Plugin {
  return {
    name: 'mmsim-dev-log',
    apply: 'serve',
    configureServer(server) {
      const log = process.env.MMSIM_LOG;
      if (!log || !existsSync(log)) return;
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0];
        if (path === '/log.mmlog') {
          res.setHeader('content-type', 'application/octet-stream');
          createReadStream(log).pipe(res);
        } else if (path === '/api/meta') {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ name: basename(log), size: statSync(log).size }));
        } else next();
      });
    },
  };
}

// The debugger's single-page app. The worker is a module worker (new Worker(new URL(...))).
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [react(), devLog()],
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 2000,
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
