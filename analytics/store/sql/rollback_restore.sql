-- Splice the batch out of each (org, quarter) history chain: what it replaced now points where the
-- batch's own row pointed (NULL = current again, or the later batch that replaced it).
UPDATE records AS prev SET replaced_by = mine.replaced_by
FROM records AS mine
WHERE mine.batch_id = $batch
  AND prev.replaced_by = $batch
  AND prev.batch_id <> $batch
  AND prev.org_id = mine.org_id
  AND prev.quarter = mine.quarter;
