// `dpemu check FILE`: validation alone, every error on its own line.
import { checkTopologyFile } from '../topology/loader.js';

export function checkCommand(file: string): number {
  const errors = checkTopologyFile(file);
  if (errors.length === 0) {
    console.log(`${file}: ok`);
    return 0;
  }
  for (const e of errors) console.error(e);
  console.error(`${file}: ${errors.length} error${errors.length === 1 ? '' : 's'}`);
  return 1;
}
