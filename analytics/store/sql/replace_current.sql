-- Mark as replaced by $batch the current rows of the organizations in the incoming upload.
UPDATE records SET replaced_by = $batch
WHERE quarter = $quarter
  AND replaced_by IS NULL
  AND org_id IN (SELECT o.org_id FROM incoming i JOIN organizations o USING (system_key, unit_key, name_key));
