// node:path/posix — the same object as node:path.
return require("path");
