import { defineConfig } from "vitest/config";

// The app loads the built files from ui/dist (tauri.conf.json: frontendDist); no dev server.
export default defineConfig({
  clearScreen: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari15",
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  test: { environment: "jsdom", include: ["src/**/*.test.ts"] },
});
