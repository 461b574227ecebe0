// The REST API, with the key the editor pasted (kept in this tab's sessionStorage only).

const KEY = "cms.key";

// The API's root: the page is {root}/admin ('' locally, '/api' behind an API Gateway stage).
export const root = location.pathname.replace(/\/admin\/?$/, "");

export const key = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  forget: () => sessionStorage.removeItem(KEY),
};

// A problem+json answer (RFC 9457): its detail, and for validation the fields' `errors`.
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `The server answered ${status}.`);
    this.status = status;
    this.problem = problem;
  }

  get errors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return { title: response.statusText, status: response.status };
  }
}

// One request; resolves to {body, etag, status}, rejects with ApiError.
export async function call(method, path, { json, headers = {}, signal } = {}) {
  const init = {
    method,
    headers: { Authorization: `Bearer ${key.get()}`, ...headers },
    cache: "no-store",
    signal,
  };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(root + path, init);
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  const body = response.status === 204 ? null : await response.json();
  return { body, etag: response.headers.get("ETag"), status: response.status };
}

export const get = (path, options) => call("GET", path, options);

// An entry path ('guides/setup') as one URL segment ('guides~setup').
export const segment = (path) => encodeURIComponent(path.replaceAll("/", "~"));

export function query(params) {
  const pairs = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return pairs.length ? `?${new URLSearchParams(pairs)}` : "";
}

// An upload through XMLHttpRequest (fetch reports no upload progress). `url` is absolute or
// from the site's root; `auth` adds the key (never sent to a presigned bucket URL).
export function send(method, url, body, { headers = {}, auth = true, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    if (auth) xhr.setRequestHeader("Authorization", `Bearer ${key.get()}`);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let parsed = null;
      try {
        parsed = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        parsed = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve({ body: parsed, status: xhr.status });
      else reject(new ApiError(xhr.status, parsed || { title: xhr.statusText }));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, { title: "The upload failed." })));
    xhr.send(body);
  });
}
