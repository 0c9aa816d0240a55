/** One JSON:API error object. `status` is a string, as hashicorp/jsonapi expects. */
export interface ErrorObject {
  status: string;
  title: string;
  detail?: string;
  source?: { pointer?: string; parameter?: string };
}

export function errorDocument(errors: ErrorObject[]): { errors: ErrorObject[] } {
  return { errors };
}

export function errorObject(status: number, title: string, detail?: string, pointer?: string): ErrorObject {
  return {
    status: String(status),
    title,
    ...(detail !== undefined ? { detail } : {}),
    ...(pointer !== undefined ? { source: { pointer } } : {}),
  };
}
