SELECT batch_id AS id, quarter, file_name AS file, row_count AS rows, status, created_at,
       uploader, sha256, new_count, changed_count, unchanged_count, skipped_count,
       valid_rows_only, rolled_back_at, rolled_back_by
FROM batches
ORDER BY batch_id;
