// The notes service: GET /health, GET /notes, POST /notes (a line of text). Listens on the
// Unix socket NOTES_SOCKET (default /srv/notes/run/notes.sock), so that several hosts on one
// machine (a local fleet) never compete for a port.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname } from 'node:path';

const socket = process.env.NOTES_SOCKET ?? '/srv/notes/run/notes.sock';
const { version } = JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8'));
const notes = [];
const json = (res, status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') return json(res, 200, { status: 'ok', version });
  if (req.method === 'GET' && req.url === '/notes') return json(res, 200, { notes });
  if (req.method === 'POST' && req.url === '/notes') {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { text += chunk; });
    req.on('end', () => {
      notes.push(text.trim());
      json(res, 201, { id: notes.length });
    });
    return undefined;
  }
  return json(res, 404, { error: 'not found' });
});

mkdirSync(dirname(socket), { recursive: true });
rmSync(socket, { force: true });
server.listen(socket, () => console.log(`notes listening on ${socket}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
