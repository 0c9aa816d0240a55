// Prints the development key from the file named on the command line (creating it if needed).
import { readOrCreateKeyFile } from "../deployment-keys";

const file = process.argv[2];
if (!file) throw new Error("usage: read-key.ts <file>");
const { key, created } = readOrCreateKeyFile(file);
process.stdout.write(`${JSON.stringify({ key, created })}\n`);
