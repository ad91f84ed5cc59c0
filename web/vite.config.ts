import { defineConfig } from "vite";

// The bundle is embedded in the Go binary (internal/ui/dist) and committed;
// `make ui-check` rebuilds it and fails when the committed one differs, so
// the build must be deterministic: content-hashed names, no timestamps.
export default defineConfig({
  base: "/ui/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: process.env.WAGGLE_UI_OUT || "../internal/ui/dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: false,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { "/ui/api": process.env.WAGGLE_URL || "http://127.0.0.1:8080" },
  },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
