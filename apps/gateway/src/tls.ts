import { readFileSync } from "node:fs";

export interface TlsFiles {
  TARMAC_TLS_CERT_FILE?: string;
  TARMAC_TLS_KEY_FILE?: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/**
 * The gateway's certificate and key, read once at start. Both variables or neither: one
 * alone is a configuration mistake, refused with the missing variable's name, and so is a
 * file the process cannot read (better than an HTTPS listener failing on the first request).
 */
export function loadTls(env: TlsFiles): TlsMaterial | null {
  const certFile = env.TARMAC_TLS_CERT_FILE;
  const keyFile = env.TARMAC_TLS_KEY_FILE;
  if (!certFile && !keyFile) return null;
  if (!certFile) throw new Error("TARMAC_TLS_CERT_FILE: required when TARMAC_TLS_KEY_FILE is set (set both or neither)");
  if (!keyFile) throw new Error("TARMAC_TLS_KEY_FILE: required when TARMAC_TLS_CERT_FILE is set (set both or neither)");
  return { cert: readPem("TARMAC_TLS_CERT_FILE", certFile), key: readPem("TARMAC_TLS_KEY_FILE", keyFile) };
}

function readPem(variable: string, file: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    throw new Error(`${variable}: cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!data.toString("latin1").includes("-----BEGIN ")) throw new Error(`${variable}: "${file}" is not a PEM file`);
  return data;
}

/** The URL clients reach the gateway at when TARMAC_PUBLIC_URL is unset. */
export function defaultPublicUrl(port: number, isTls: boolean): string {
  // A certificate names a host, and the terraform CLI's discovery wants a hostname: localhost.
  return isTls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`;
}
