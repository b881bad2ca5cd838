// The value types of subject_store.h. The adapters live in their own files.
#include "subjects/subject_store.h"

namespace scrubd::subjects {

bool Subject::empty() const {
  for (const Part& p : parts) {
    if (!p.sessions.empty() || !p.event_uuids.empty() || !p.spool_seqs.empty()) return false;
    for (const NodeFact& n : p.nodes)
      if (n.kind != kKindUnseen) return false;
  }
  return true;
}

}  // namespace scrubd::subjects
