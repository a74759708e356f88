from django.db import migrations

# Map clusters group the open cases by grid: with this covering index PostgreSQL counts them
# from the index alone, in index order (no sort, no hash). PostgreSQL only (INCLUDE).
INDEX = ("analytics_open_grid", "analytics_opencase", "(grid_id) INCLUDE (paused, deadline, lon, lat)")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX[0]} ON {INDEX[1]} {INDEX[2]}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX[0]}")


class Migration(migrations.Migration):

    dependencies = [("analytics", "0002_district_rows_covering_indexes")]

    operations = [migrations.RunPython(create, drop)]
