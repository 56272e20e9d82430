// bench/lib/args.ts: the bench scripts' command lines. A misspelt option or a
// malformed number must stop the script (exit 2, with its usage) rather than
// run it on defaults; a pass-through option may carry a value with a dash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const OPTIONS = { rates: { type: 'string' }, json: { type: 'boolean' }, 'daemon-arg': { type: 'string', multiple: true } };

/** cli() on `argv` in a child (it exits on a usage error): its stdout, stderr and status. */
function parse(argv: string[]): { status: number | null; out: string; err: string } {
  const script = `import('./bench/lib/args.ts').then((m) => {
    const c = m.cli('tool [--rates N,...] [--json] [--daemon-arg ARG]...', ${JSON.stringify(OPTIONS)}, false, ${JSON.stringify(argv)});
    console.log(JSON.stringify({ rates: c.nums('rates', '5000'), json: c.flag('json'), daemon: c.all('daemon-arg') }));
  })`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

test('options parse, with defaults and pass-through values that start with a dash', () => {
  assert.deepEqual(JSON.parse(parse([]).out), { rates: [5000], json: false, daemon: [] });
  const r = parse(['--rates', '2000,4000', '--json', '--daemon-arg', '--rt-priority', '--daemon-arg', '10']);
  assert.equal(r.status, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), { rates: [2000, 4000], json: true, daemon: ['--rt-priority', '10'] });
});

test('a misspelt option, a stray argument or a malformed number exits 2 with the usage', () => {
  for (const [argv, msg] of [
    [['--rate', '5000'], /Unknown option '--rate'/],
    [['5000'], /Unexpected argument '5000'/],
    [['--rates', '5000,abc'], /--rates takes whole numbers >= 0, not 'abc'/],
    [['--rates', '1.5'], /--rates takes whole numbers >= 0, not '1.5'/],
    [['--rates'], /argument missing/],
  ] as const) {
    const r = parse([...argv]);
    assert.equal(r.status, 2, `${argv.join(' ')}: ${r.out}`);
    assert.match(r.err, msg);
    assert.match(r.err, /\nusage: tool \[--rates N,\.\.\.\]/);
    assert.equal(r.out, '', 'nothing ran');
  }
});
