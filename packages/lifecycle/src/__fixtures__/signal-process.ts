/**
 * A process with one step per shutdown phase, for signals.test.ts: real signals need a real
 * process. argv[2] = overall timeout in ms; argv[3] = "hang-drain" makes the drain step never end.
 * Every log entry and step marker is a JSON line on stdout.
 */
import { createShutdown } from "../shutdown";

const timeoutMs = Number(process.argv[2] ?? "5000");
const isDrainHanging = process.argv[3] === "hang-drain";

const line = (fields: object): void => void process.stdout.write(`${JSON.stringify(fields)}\n`);
const log = (level: string) => (obj: object, msg?: string) => line({ level, msg, ...obj });
const shutdown = createShutdown({ logger: { info: log("info"), warn: log("warn"), error: log("error") }, timeoutMs });

// Keeps the event loop alive the way a listening server would.
const intake = setInterval(() => undefined, 60_000);

shutdown.onShutdown("telemetry", () => line({ step: "telemetry" }), "telemetry");
shutdown.onShutdown("clients", () => line({ step: "clients" }), "clients");
shutdown.onShutdown(
  "drain",
  () => {
    line({ step: "drain" });
    return isDrainHanging ? new Promise<void>(() => undefined) : undefined;
  },
  "drain",
);
shutdown.onShutdown("intake", () => {
  clearInterval(intake);
  line({ step: "intake" });
}, "intake");
shutdown.installSignalHandlers();
line({ ready: true, pid: process.pid });
