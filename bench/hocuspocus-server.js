// Minimal @hocuspocus/server for the benchmark: in memory, no extensions.
const { Server } = require('@hocuspocus/server');
const port = Number(process.env.PORT || 0);
const server = new Server({ port, address: '127.0.0.1', quiet: true });
server.listen().then(() => console.log(`listening on http://127.0.0.1:${port}`));
