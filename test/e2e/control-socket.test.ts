// The control socket's access rules: 0600 refuses another user, a TCP
// listener exists only when asked and wants its token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { requireRoot } from '../helpers/root.js';
import { startDaemon } from '../helpers/control.js';
import { startControlServer } from '../../src/control/server.js';
import { runRemote } from '../../src/control/client.js';

const NOBODY = 65534;

/** Connect to `path` as user nobody; resolves with the error code or 'connected'. */
function connectAsNobody(path: string): Promise<string> {
  const js = `require('net').connect(${JSON.stringify(path)}).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(0)})`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', js], { uid: NOBODY, gid: NOBODY, cwd: '/', timeout: 10_000 }, (_e, out) => resolve(String(out).trim()));
  });
}

test('the socket is 0600 and refuses a second user (EACCES); 0666 would let it in', async () => {
  requireRoot('connecting as another user');
  const d = await startDaemon();
  try {
    assert.equal(statSync(d.server.path).mode & 0o777, 0o600);
    chmodSync(d.dir, 0o755); // only the socket's own mode stands in the way
    assert.equal(await connectAsNobody(d.server.path), 'EACCES');
    chmodSync(d.server.path, 0o666);
    assert.equal(await connectAsNobody(d.server.path), 'connected', 'the check above is not vacuous');
  } finally {
    await d.stop();
  }
});

test('a live socket is not stolen by a second server', async () => {
  const d = await startDaemon();
  try {
    await assert.rejects(startControlServer(d.emu, { socketPath: d.server.path }), /another dpemu is listening/);
    assert.equal((await runRemote({ socketPath: d.server.path }, 'nodes', [])).exit, 0, 'the first server still answers');
  } finally {
    await d.stop();
  }
});

function get(port: number, token?: string): Promise<number> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    request({ host: '127.0.0.1', port, path: '/v1/info', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).end();
  });
}

test('TCP only on request, only with the token', async () => {
  const d = await startDaemon();
  try {
    assert.equal(d.server.tcpAddress, undefined, 'no TCP listener unless asked');
    await assert.rejects(startControlServer(d.emu, { socketPath: d.server.path + '2', tcp: { host: '127.0.0.1', port: 0, token: '' } }), /needs a token/);
    const s = await startControlServer(d.emu, { socketPath: d.server.path + '3', tcp: { host: '127.0.0.1', port: 0, token: 'dpe-test-token' } });
    try {
      const port = s.tcpAddress!.port;
      assert.equal(await get(port), 401);
      assert.equal(await get(port, 'wrong'), 401);
      assert.equal(await get(port, 'dpe-test-token'), 200);
      const r = await runRemote({ url: `http://127.0.0.1:${port}`, token: 'dpe-test-token' }, 'vsctl', ['show', 'w07']);
      assert.equal(r.exit, 0);
    } finally {
      await s.close();
    }
  } finally {
    await d.stop();
  }
});
