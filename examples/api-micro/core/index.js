// The shared worker of the micro form: the model (model.js, the same file
// as the mono form's) behind a service binding. Each route's worker calls
// these methods over JS RPC; only this worker binds the KV namespace.
import { WorkerEntrypoint } from "cloudflare:workers";
import { Model } from "./model.js";

export default class Core extends WorkerEntrypoint {
  health() {
    return new Model(this.env.DATA).health();
  }
  createUser(input) {
    return new Model(this.env.DATA).createUser(input);
  }
  getUser(id) {
    return new Model(this.env.DATA).getUser(id);
  }
  listUsers() {
    return new Model(this.env.DATA).listUsers();
  }
  createItem(input) {
    return new Model(this.env.DATA).createItem(input);
  }
  getItem(id) {
    return new Model(this.env.DATA).getItem(id);
  }
  listItems(owner) {
    return new Model(this.env.DATA).listItems(owner);
  }
  search(query) {
    return new Model(this.env.DATA).search(query);
  }
}
