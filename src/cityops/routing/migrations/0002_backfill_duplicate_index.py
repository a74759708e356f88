"""Index the open, located cases that existed before the routing app was installed."""

from django.db import migrations

OPEN = ["new", "registered", "dispatched", "in_progress", "returned", "responded", "suspended"]


def backfill(apps, schema_editor):
    from cityops.routing.duplicates import cell_of, summary

    Case = apps.get_model("cases", "Case")
    Entry = apps.get_model("routing", "DuplicateIndexEntry")
    rows = []
    qs = Case.objects.filter(status__in=OPEN, lat__isnull=False, lon__isnull=False, master__isnull=True)
    for pk, lon, lat, created_at, title, description in qs.values_list("pk", "lon", "lat", "created_at", "title", "description").iterator():
        rows.append(Entry(case_id=pk, cell=cell_of(lon, lat), lat=lat, lon=lon, created_at=created_at, text=summary(title, description)))
        if len(rows) >= 2000:
            Entry.objects.bulk_create(rows)
            rows = []
    Entry.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
