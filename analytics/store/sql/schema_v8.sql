-- Schema version 8: a unit is (system, unit). Two systems may each have a unit of the same name (a province has a
-- 财政局 in every city); everything that reads current_records groups, ranks and filters by `unit`, so where a
-- name is shared across systems `unit` carries the system too: 区人民检察院（政法系统）, 区人民检察院（经济系统）.
-- `unit_name` keeps the name as typed (the dump writes it, so a dump uploads back as it was).
CREATE OR REPLACE VIEW current_records AS
SELECT r.quarter, o.org_id, o.system,
       CASE WHEN o.unit_key IN (SELECT s.unit_key FROM organizations s GROUP BY s.unit_key
                                HAVING count(DISTINCT s.system_key) > 1)
            THEN o.unit || '（' || o.system || '）' ELSE o.unit END AS unit,
       o.unit AS unit_name, o.org_name, o.term_years, o.term_delay_until,
       r.* EXCLUDE (quarter, org_id, replaced_by, source_sheet, source_row)
FROM records r
JOIN organizations o ON o.org_id = r.org_id
WHERE r.replaced_by IS NULL;
