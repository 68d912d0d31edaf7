-- +goose Up
-- Google Classroom re-sync. Which classes each import read (imports_view,
-- from its ClassroomRosterFetched) and which classes each roster row was
-- in (import_rows, written by the validation): from them the classes page
-- shows when each class was last imported, and a re-sync finds the
-- students imported from the class before who have left it.
ALTER TABLE imports_view ADD COLUMN course_ids text[] NOT NULL DEFAULT '{}';
UPDATE imports_view SET course_ids = ARRAY(
    SELECT c->>'ID' FROM jsonb_array_elements(snapshot->'Classroom'->'Courses') AS c)
WHERE source = 'google_classroom' AND jsonb_typeof(snapshot->'Classroom'->'Courses') = 'array';
CREATE INDEX imports_view_courses ON imports_view USING gin (course_ids) WHERE source = 'google_classroom';

ALTER TABLE import_rows ADD COLUMN course_ids text[] NOT NULL DEFAULT '{}';
-- Rows validated before this migration did not record their classes: an
-- import of one class is exact; an import of several cannot be told apart
-- and stays without (its students are not found departed).
UPDATE import_rows r SET course_ids = v.course_ids
FROM imports_view v
WHERE v.id = r.import_id AND v.source = 'google_classroom' AND cardinality(v.course_ids) = 1;

-- +goose Down
ALTER TABLE import_rows DROP COLUMN course_ids;
DROP INDEX imports_view_courses;
ALTER TABLE imports_view DROP COLUMN course_ids;
