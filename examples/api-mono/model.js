// The API's model: users and items in one KV namespace, checked on the way
// in. Every method answers { status, body } (a plain object, so it crosses
// a service binding's RPC as it is) instead of throwing.
const encoder = new TextEncoder();

// A short, stable id: the first 12 hex digits of the SHA-256 of `text`.
async function idOf(prefix, text) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  let hex = "";
  for (const byte of digest.subarray(0, 6)) hex += byte.toString(16).padStart(2, "0");
  return prefix + hex;
}

// `value` trimmed when it is a string of `min` to `max` characters, else null.
function text(value, min, max) {
  if (typeof value !== "string") return null;
  const trimmed = value.trim();
  return trimmed.length >= min && trimmed.length <= max ? trimmed : null;
}

const ok = (status, body) => ({ status, body });
const fail = (status, error) => ({ status, body: { error } });
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export class Model {
  constructor(kv) {
    this.kv = kv;
  }

  // Records are stored as JSON and in the key's metadata, so a list needs
  // no read per key.
  async #put(key, record) {
    await this.kv.put(key, JSON.stringify(record), { metadata: record });
  }

  async #get(key) {
    const stored = await this.kv.get(key);
    return stored === null ? null : JSON.parse(stored);
  }

  async #list(prefix) {
    const records = [];
    let cursor;
    do {
      const page = await this.kv.list({ prefix, cursor });
      for (const key of page.keys) if (key.metadata) records.push(key.metadata);
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return records;
  }

  health() {
    return ok(200, { ok: true });
  }

  async createUser(input) {
    const name = text(input?.name, 1, 100);
    const email = text(input?.email, 3, 200);
    if (name === null || email === null || !EMAIL.test(email)) {
      return fail(400, "a user needs a name (1 to 100 characters) and an email address");
    }
    const id = await idOf("u-", email.toLowerCase());
    if ((await this.#get("user:" + id)) !== null) return fail(409, "that email has a user already");
    const user = { id, name, email };
    await this.#put("user:" + id, user);
    return ok(201, user);
  }

  async getUser(id) {
    const user = typeof id === "string" ? await this.#get("user:" + id) : null;
    return user === null ? fail(404, "no such user") : ok(200, user);
  }

  async listUsers() {
    return ok(200, { users: await this.#list("user:") });
  }

  async createItem(input) {
    const title = text(input?.title, 1, 200);
    const owner = text(input?.owner, 1, 64);
    if (title === null || owner === null) {
      return fail(400, "an item needs a title (1 to 200 characters) and an owner (a user id)");
    }
    if ((await this.#get("user:" + owner)) === null) return fail(400, "the owner is not a user");
    const id = await idOf("i-", owner + "\n" + title);
    if ((await this.#get("item:" + id)) !== null) return fail(409, "the owner has that item already");
    const item = { id, title, owner };
    await this.#put("item:" + id, item);
    return ok(201, item);
  }

  async getItem(id) {
    const item = typeof id === "string" ? await this.#get("item:" + id) : null;
    return item === null ? fail(404, "no such item") : ok(200, item);
  }

  async listItems(owner) {
    const items = await this.#list("item:");
    return ok(200, { items: owner ? items.filter((item) => item.owner === owner) : items });
  }

  async search(query) {
    const q = text(query, 1, 50)?.toLowerCase();
    if (!q) return fail(400, "search needs ?q= (1 to 50 characters)");
    const [users, items] = await Promise.all([this.#list("user:"), this.#list("item:")]);
    return ok(200, {
      users: users.filter((user) => user.name.toLowerCase().includes(q)),
      items: items.filter((item) => item.title.toLowerCase().includes(q)),
    });
  }
}
