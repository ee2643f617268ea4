-- Schema version 4: headers the template does not know, mapped by an analyst to a template column or ignored
-- (SPEC §3.1.1). Every later upload reads such a header the same way; an admin can remove a mapping.
CREATE TABLE header_mappings (
    header_key   VARCHAR   PRIMARY KEY,  -- the header reduced for matching (template.header_key)
    header       VARCHAR   NOT NULL,     -- the header as the analyst confirmed it
    field        VARCHAR,                -- internal name of the template column; NULL: the column is ignored
    confirmed_by VARCHAR   NOT NULL,
    confirmed_at TIMESTAMP NOT NULL
);
