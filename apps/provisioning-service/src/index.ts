/** Defaults the reference server runs on when nothing is configured. */
export const DEFAULTS = {
  helloPort: 9971,
  adminPort: 8080,
  dataDir: '.oobkit-demo',
} as const;
