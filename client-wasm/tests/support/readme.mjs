// The package README's examples, as the suites run them: the fenced block after
// `<!-- example: NAME -->`, with the placeholders a reader fills in (relay, token) filled in.
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { root } from "./relay.mjs";

export function example(name, { relay, token }) {
  const readme = readFileSync(join(root, "client-wasm/pkg/README.md"), "utf8");
  const at = readme.indexOf(`<!-- example: ${name} -->`);
  if (at < 0) throw new Error(`README has no example ${name}`);
  const code = readme.slice(at).match(/```js\n([\s\S]*?)```/)[1];
  return code.replaceAll("http://127.0.0.1:8787", relay).replaceAll("YOUR_JWT", token);
}
