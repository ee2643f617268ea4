-- Per quarter: organizations, units, systems, active batches and the last upload time (home page).
SELECT r.quarter AS quarter, count(*) AS organizations, count(DISTINCT r.unit) AS units,
       count(DISTINCT r.system) AS systems,
       (SELECT count(*) FROM batches b WHERE b.quarter = r.quarter AND b.status = 'active') AS batches,
       (SELECT max(created_at) FROM batches b WHERE b.quarter = r.quarter AND b.status = 'active') AS last_upload
FROM current_records r GROUP BY r.quarter ORDER BY r.quarter
