/** The fleet sizes and instance counts `runDemo` takes (and the CLI's flags check), kept apart so the CLI can read them without loading the demo. */
export const DEMO_LIMITS = {
  devices: { min: 1, max: 5000 },
  instances: { min: 1, max: 8 },
} as const;
