#!/usr/bin/env node
import { Command } from 'commander';
import { deviceAddress } from './address.js';

const program = new Command('amt-sim').description('Simulated Intel AMT machines and fleets');
program
  .command('addresses')
  .description('print the loopback address of each of the first N simulated devices')
  .option('-c, --count <n>', 'number of devices', '4')
  .action((opts: { count: string }) => {
    for (let i = 0; i < Number(opts.count); i++) console.log(deviceAddress(i));
  });
await program.parseAsync();
