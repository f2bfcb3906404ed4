// What the worker and service-worker test scripts run: the package's web build in that
// context, with IndexedDB, synced through the relay.
import init, { Tessera } from "/pkg/web/tessera.js";

export async function run({ relay, token, name, kind }) {
  await init();
  const tessera = await Tessera.open({ relay, token, storage: { type: "indexeddb", name } });
  const page = await tessera.create(`made in a ${kind}`);
  await page.addBlock({ kind: "paragraph" }, `hello from a ${kind}`);
  await page.synced();
  const json = JSON.stringify(page.toJSON());
  await tessera.close();
  return { url: page.url, json };
}
