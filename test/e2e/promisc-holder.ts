// Kernel devices standing for OVS internal ports (no openvswitch module
// here) with the promiscuity count the kernel gives those (one, and no
// PROMISC flag): hold-promisc.py holds a packet socket's promiscuous
// membership on each until released.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HOLD = fileURLToPath(new URL('./hold-promisc.py', import.meta.url));

/** Hold promiscuity on each [namespace, device]; resolves, once all are held, to the release (which waits for the holder to exit). */
export async function holdPromisc(ends: readonly (readonly [string, string])[]): Promise<() => Promise<void>> {
  const child = spawn('python3', [HOLD, ...ends.map(([ns, dev]) => `${ns}/${dev}`)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<string>((r) => {
    child.on('exit', (code, signal) => r(`exit ${code ?? signal}`));
    child.on('error', (e) => r(e.message));
  });
  const release = async () => {
    child.stdin.end();
    await exited;
  };
  let out = '';
  const ready = await new Promise<boolean>((resolve) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('ready\n')) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  if (!ready) {
    await release();
    throw new Error(`hold-promisc.py ${ends.map((e) => e.join('/')).join(' ')}: ${await exited}`);
  }
  return release;
}
