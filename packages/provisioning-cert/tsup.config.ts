import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

// The library entry plus the `oobkit-pki` bin; declarations only for the library.
export default defineConfig({
  ...packageBuild,
  entry: ['src/index.ts', 'src/cli.ts'],
  dts: { entry: 'src/index.ts' },
});
