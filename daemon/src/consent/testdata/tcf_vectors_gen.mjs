import {TCString} from '@iabtechlabtcf/core';
import fs from 'fs';
// Usage (scratch dir with `npm install @iabtechlabtcf/core@1.5.21`): node tcf_vectors_gen.mjs < tcf_vectors_in.json
const vecs = JSON.parse(fs.readFileSync(0));
const ids = (v) => { const o = []; v.forEach((b, id) => { if (b) o.push(id); }); return o.sort((a,b)=>a-b); };
for (const v of vecs) {
  try {
    const m = TCString.decode(v.tc);
    const r = {version: m.version, created_ds: Math.floor(m.created.getTime()/100),
      last_updated_ds: Math.floor(m.lastUpdated.getTime()/100), cmp_id: m.cmpId,
      cmp_version: m.cmpVersion, consent_screen: m.consentScreen,
      consent_language: m.consentLanguage, vendor_list_version: m.vendorListVersion,
      policy_version: m.policyVersion, is_service_specific: m.isServiceSpecific,
      use_non_standard_texts: m.useNonStandardTexts,
      special_feature_opt_ins: ids(m.specialFeatureOptins), purposes_consent: ids(m.purposeConsents),
      purposes_li_transparency: ids(m.purposeLegitimateInterests),
      purpose_one_treatment: m.purposeOneTreatment, publisher_cc: m.publisherCountryCode,
      vendor_consent_ids: ids(m.vendorConsents), vendor_li_ids: ids(m.vendorLegitimateInterests),
      publisher_restrictions: m.publisherRestrictions.getRestrictions().map(pr => ({purpose_id: pr.purposeId, restriction_type: pr.restrictionType, vendor_ids: m.publisherRestrictions.getVendors(pr).sort((a,b)=>a-b)})).sort((a,b)=>a.purpose_id-b.purpose_id||a.restriction_type-b.restriction_type),
      disclosed_vendor_ids: ids(m.vendorsDisclosed),
      pub_purposes_consent: ids(m.publisherConsents), pub_purposes_li: ids(m.publisherLegitimateInterests),
      custom_purposes_consent: ids(m.publisherCustomConsents), custom_purposes_li: ids(m.publisherCustomLegitimateInterests)};
    v.reference = r;
  } catch (e) { v.reference = {error: String(e.message).slice(0, 80)}; }
}
console.log(JSON.stringify(vecs, null, 1));
