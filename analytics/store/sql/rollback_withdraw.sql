-- A rolled-back batch's rows stay in history, withdrawn (replaced_by = their own batch).
UPDATE records SET replaced_by = $batch WHERE batch_id = $batch;
