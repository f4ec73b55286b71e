import type { BuildService } from '../ports.js';

let provided: BuildService | undefined;

/**
 * The local stack (npm start) provides its built-in buildspec runner here
 * before it loads the functions; in AWS nothing is provided, and CodeBuild
 * runs the builds (worker-adapters.ts).
 */
export function provideLocalBuildService(service: BuildService | undefined): void {
  provided = service;
}

export function localBuildService(): BuildService | undefined {
  return provided;
}
