// Reads the entries of a scrubd audit log (DATA_DIR/audit/seg-*.log, audit/FORMAT.md section 2)
// so a test can see which entry types were written and with what payload. It checks nothing
// cryptographic: `scrubd audit verify` does that. Stops at the first record that does not parse.
import fsp from 'node:fs/promises';
import path from 'node:path';

/** Every entry of every segment, in seq order: [{seq, timeUs, type, payload, text}]. */
export async function readAuditEntries(auditDir) {
  const segs = (await fsp.readdir(auditDir)).filter((f) => /^seg-\d{20}\.log$/.test(f)).sort();
  const out = [];
  for (const seg of segs) {
    const buf = await fsp.readFile(path.join(auditDir, seg));
    if (buf.length < 16 || buf.toString('latin1', 0, 8) !== 'SCRDAUD1') {
      throw new Error(`${seg}: not an audit segment`);
    }
    let off = 16;
    while (off + 4 <= buf.length) {
      const len = buf.readUInt32LE(off);
      if (len < 1 || off + 4 + len + 32 > buf.length) break;  // torn tail
      const body = buf.subarray(off + 4, off + 4 + len);
      // body := version u8 | seq u64 | time_us u64 | prev_hash 32 | type_len u8 | type | payload
      const typeLen = body[49];
      const type = body.toString('utf8', 50, 50 + typeLen);
      const text = body.toString('utf8', 50 + typeLen);
      let payload = null;
      try { payload = JSON.parse(text); } catch { /* left as text */ }
      out.push({ seq: Number(body.readBigUInt64LE(1)), timeUs: Number(body.readBigUInt64LE(9)),
        type, payload, text });
      off += 4 + len + 32;
    }
  }
  return out;
}
