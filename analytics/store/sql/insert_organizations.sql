-- Organizations seen for the first time get the next ids, in file order; display text as first seen.
INSERT INTO organizations (org_id, system_key, unit_key, name_key, system, unit, org_name, first_batch)
SELECT (SELECT coalesce(max(org_id), 0) FROM organizations) + row_number() OVER (ORDER BY i.seq),
       i.system_key, i.unit_key, i.name_key, i.system, i.unit, i.org_name, $batch
FROM incoming i
ANTI JOIN organizations o
  ON o.system_key = i.system_key AND o.unit_key = i.unit_key AND o.name_key = i.name_key;
