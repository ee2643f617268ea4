-- Later active batches that replaced some of this batch's rows (told to the user on rollback).
SELECT DISTINCT replaced_by FROM records
WHERE batch_id = $batch AND replaced_by IS NOT NULL AND replaced_by <> $batch
ORDER BY 1;
