// A dedicated module worker running the package (see worker_common.js).
import { run } from "./worker_common.js";

self.onmessage = (e) => run({ ...e.data, kind: "dedicated worker" }).then(
  (result) => self.postMessage(result),
  (err) => self.postMessage({ error: `${err.name} ${err.code ?? ""}: ${err.message}` }),
);
