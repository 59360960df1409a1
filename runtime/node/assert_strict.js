// node:assert/strict — assert.strict.
return require("assert").strict;
