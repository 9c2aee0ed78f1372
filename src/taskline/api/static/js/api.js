// The HTTP API, with the token from the login field (kept in localStorage).

const KEY = "taskline.token";

export const token = {
  get: () => localStorage.getItem(KEY) || "",
  set: (value) => localStorage.setItem(KEY, value.trim()),
  clear: () => localStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function request(method, path, body) {
  const init = { method, headers: { Authorization: `Bearer ${token.get()}` } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) window.dispatchEvent(new Event("taskline:unauthorized"));
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, detail);
  }
  return response;
}

export async function get(path) {
  return (await request("GET", path)).json();
}

/** A page of a list and how many there are in all (the API's `X-Total-Count`). */
export async function getPage(path) {
  const response = await request("GET", path);
  return { items: await response.json(), total: Number(response.headers.get("X-Total-Count")) };
}

export async function post(path, body = {}) {
  return (await request("POST", path, body)).json();
}

let lifecycleOnce = null;

/** The statuses, the moves the lifecycle table allows and the priorities (`/api/lifecycle`),
 * asked once: the dashboard keeps no copy of its own. */
export function lifecycle() {
  lifecycleOnce ??= get("/api/lifecycle").catch((e) => { lifecycleOnce = null; throw e; });
  return lifecycleOnce;
}

/** The body `POST /api/tasks` takes, from the OpenAPI schema: its fields in order, each with
 * its JSON schema and whether it is required. */
export async function newTaskFields() {
  const schema = await get("/openapi.json");
  const ref = schema.paths["/api/tasks"].post.requestBody.content["application/json"].schema.$ref;
  const body = schema.components.schemas[ref.split("/").pop()];
  const required = new Set(body.required || []);
  return Object.entries(body.properties).map(([name, spec]) => ({ name, spec, required: required.has(name) }));
}

export function taskPath(id, rest = "") {
  return `/api/tasks/${encodeURIComponent(id)}${rest}`;
}

/** The task's event stream; EventSource cannot send headers, so the token goes in the query. */
export function stream(id) {
  const url = taskPath(id, `/stream?token=${encodeURIComponent(token.get())}`);
  return new EventSource(url);
}

/** Fetch with the token and hand the bytes to the browser as a download. */
export async function download(path, filename) {
  const blob = await (await request("GET", path)).blob();
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
