// The whole API in one worker: it routes every path itself and calls the
// model (model.js) in-process.
import { Model } from "./model.js";

const answer = ({ status, body }) => Response.json(body, { status });
const notAllowed = (allow) =>
  Response.json({ error: "method not allowed" }, { status: 405, headers: { Allow: allow } });
const input = (request) => request.json().catch(() => null);

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const model = new Model(env.DATA);
    const [, first, id, extra] = url.pathname.split("/");
    const get = request.method === "GET";
    const post = request.method === "POST";
    if (extra !== undefined) return answer({ status: 404, body: { error: "no such path" } });
    if (first === "health" && id === undefined) {
      return get ? answer(model.health()) : notAllowed("GET");
    }
    if (first === "users" && id === undefined) {
      if (get) return answer(await model.listUsers());
      return post ? answer(await model.createUser(await input(request))) : notAllowed("GET, POST");
    }
    if (first === "users") return get ? answer(await model.getUser(id)) : notAllowed("GET");
    if (first === "items" && id === undefined) {
      if (get) return answer(await model.listItems(url.searchParams.get("owner")));
      return post ? answer(await model.createItem(await input(request))) : notAllowed("GET, POST");
    }
    if (first === "items") return get ? answer(await model.getItem(id)) : notAllowed("GET");
    if (first === "search" && id === undefined) {
      return get ? answer(await model.search(url.searchParams.get("q"))) : notAllowed("GET");
    }
    return answer({ status: 404, body: { error: "no such path" } });
  },
};
