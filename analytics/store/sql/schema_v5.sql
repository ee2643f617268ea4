-- Schema version 5 (SPEC §4.5): the optional 党组织类别 (在职 / 离退休) of a record, and an approved 换届 delay per
-- organization (until a date, and who approved it). Rows loaded before stay NULL: the scores read a blank category
-- from the organization's name, and no delay means the term as the rubric sets it.
ALTER TABLE records ADD COLUMN org_category VARCHAR;
ALTER TABLE organizations ADD COLUMN term_delay_until DATE;
ALTER TABLE organizations ADD COLUMN term_delay_by VARCHAR;

CREATE OR REPLACE VIEW current_records AS
SELECT r.quarter, o.org_id, o.system, o.unit, o.org_name, o.term_years, o.term_delay_until,
       r.* EXCLUDE (quarter, org_id, replaced_by, source_sheet, source_row)
FROM records r
JOIN organizations o ON o.org_id = r.org_id
WHERE r.replaced_by IS NULL;
