// What the Cache API's JavaScript tests share. Import with a relative path:
//   import { fresh } from "./cache_testing.js";

let serial = 0;
// A URL no other test of the file uses.
export function fresh(path = "x") {
  serial++;
  return `https://cache.test/${path}/${serial}`;
}
