// A static web server for this sample: serves the files of a folder on a Unix socket.
// Usage: node httpd.mjs <folder> <socket>
import { readFile, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';

const [root, socket] = process.argv.slice(2);
rmSync(socket, { force: true });
createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://localhost').pathname));
  if (path.split('/').some((part) => part.startsWith('.'))) return res.writeHead(404).end('not found\n');
  readFile(join(root, path.endsWith('/') ? `${path}index.html` : path), (error, body) => {
    if (error) return res.writeHead(404).end('not found\n');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
}).listen(socket, () => console.log(`serving ${root} on ${socket}`));
process.on('SIGTERM', () => process.exit(0));
