// Runs inside `unshare --net`: a network namespace with only a loopback interface. Brings `lo`
// up, bridges exactly one TCP port (127.0.0.1:PORT) to a Unix socket whose other end, outside
// the namespace, connects to the gateway's HTTPS port, probes the ports Tarmac's PostgreSQL,
// Redis and NATS listen on (printing `PROBE <json>`), then runs the given command (the agent)
// and exits with its exit code.
//   node netns-launch.cjs <port> <unix-socket> <host:port,...> -- <command> [args...]
const { execFileSync, spawn } = require("node:child_process");
const net = require("node:net");

const [portArg, socketPath, probeList, dashes, command, ...args] = process.argv.slice(2);
if (dashes !== "--" || !command) {
  process.stderr.write("usage: netns-launch.cjs <port> <unix-socket> <host:port,...> -- <command> [args...]\n");
  process.exit(2);
}

function probe(target) {
  const i = target.lastIndexOf(":");
  const host = target.slice(0, i);
  const port = Number(target.slice(i + 1));
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result) => {
      socket.destroy();
      resolve({ target, ...result });
    };
    socket.setTimeout(3000, () => done({ connected: false, error: "ETIMEDOUT" }));
    socket.once("connect", () => done({ connected: true }));
    socket.once("error", (err) => done({ connected: false, error: err.code || err.message }));
  });
}

async function main() {
  execFileSync("ip", ["link", "set", "lo", "up"]);
  const server = net.createServer((inbound) => {
    const outbound = net.connect(socketPath);
    inbound.pipe(outbound).pipe(inbound);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", close);
    outbound.on("error", close);
  });
  await new Promise((resolve, reject) => server.listen(Number(portArg), "127.0.0.1", resolve).once("error", reject));
  // `localhost` may resolve to ::1 first: answer there too when the namespace has IPv6.
  const server6 = net.createServer((inbound) => server.emit("connection", inbound));
  await new Promise((resolve) => server6.listen(Number(portArg), "::1", resolve).once("error", resolve));
  const probes = await Promise.all(probeList.split(",").filter(Boolean).map(probe));
  process.stdout.write(`PROBE ${JSON.stringify(probes)}\n`);
  const child = spawn(command, args, { stdio: "inherit" });
  for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
}

main().catch((err) => {
  process.stderr.write(`netns-launch: ${err.message}\n`);
  process.exit(2);
});
