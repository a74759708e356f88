"""PostgreSQL: the day's case-number counter moved by one statement (see services.next_case_number)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION cityops_next_case_number(p_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    -- The case's own synchronous commit comes later in the WAL and flushes this one.
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO cases_casenumbercounter ("day", "last") VALUES (p_day, 1)
    ON CONFLICT ("day") DO UPDATE SET "last" = cases_casenumbercounter."last" + 1
    RETURNING "last" INTO n;
    RETURN n;
END
$$;
"""
DROP = "DROP FUNCTION IF EXISTS cityops_next_case_number(date);"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_pending_fanout")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
