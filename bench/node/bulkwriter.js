// bulkwriter.js PROJECT COLLECTION ID_PATTERN STALE_FIELD STALE_SECONDS
//
// The BulkWriter side of bench/run's heartbeat-delete figure: list the
// collection with Google's Node client (@google-cloud/firestore, against
// $FIRESTORE_EMULATOR_HOST), pick the documents the heartbeat policy
// deletes (an ID that does not fully match ID_PATTERN, or STALE_FIELD older
// than STALE_SECONDS), delete them with a BulkWriter with throttling off,
// and print one JSON line: {"listed", "deleted", "failed", "list_seconds",
// "seconds"} (seconds: listing plus deleting).
'use strict';
const { Firestore } = require('@google-cloud/firestore');

async function main() {
  const [project, collection, pattern, field, staleSeconds] =
    process.argv.slice(2);
  if (!staleSeconds || !process.env.FIRESTORE_EMULATOR_HOST) {
    console.error('usage: FIRESTORE_EMULATOR_HOST=H:P bulkwriter.js ' +
      'PROJECT COLLECTION ID_PATTERN STALE_FIELD STALE_SECONDS');
    process.exit(2);
  }
  const db = new Firestore({ projectId: project });
  const idRe = new RegExp('^(?:' + pattern + ')$');
  const cutoff = Date.now() - Number(staleSeconds) * 1000;

  const t0 = process.hrtime.bigint();
  const snap = await db.collection(collection).select(field).get();
  const victims = snap.docs.filter((d) => {
    if (!idRe.test(d.id)) return true;
    const ts = d.get(field);
    return ts && typeof ts.toMillis === 'function' && ts.toMillis() < cutoff;
  });
  const t1 = process.hrtime.bigint();

  const bw = db.bulkWriter({ throttling: false });
  let failed = 0;
  bw.onWriteError(() => {
    failed++;
    return false;
  });
  for (const d of victims) bw.delete(d.ref).catch(() => {});
  await bw.close();
  const t2 = process.hrtime.bigint();

  console.log(JSON.stringify({
    listed: snap.size,
    deleted: victims.length - failed,
    failed,
    list_seconds: Number(t1 - t0) / 1e9,
    seconds: Number(t2 - t0) / 1e9,
  }));
  await db.terminate();
}

main().catch((e) => {
  console.error('bulkwriter.js: ' + e.message);
  process.exit(1);
});
