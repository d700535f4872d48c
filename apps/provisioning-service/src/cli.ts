#!/usr/bin/env node
import { Command } from 'commander';

const program = new Command('oobkit').description('oobkit reference provisioning server');
program
  .command('demo')
  .description('provision a simulated fleet on embedded defaults')
  .action(() => {
    console.log('oobkit demo: the provisioning service is not built yet (see the open issues).');
  });
await program.parseAsync();
