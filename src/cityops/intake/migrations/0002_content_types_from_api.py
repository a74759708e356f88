"""The content types of the moved models follow them from `api` to `intake` (issue 15).

Updating the rows in place (rather than letting Django create new ones) keeps every object
that points at them: the permissions (`api.view_intakerecord` becomes
`intake.view_intakerecord`, the same row, still held by the groups and users that held it) and
the admin's change history. Where an `intake` row already exists (created by a `migrate` that
ran between the two steps), its permissions are merged into it and the old row is removed.
"""

from django.db import migrations

MODELS = ("citycategorymapping", "addressmapping", "device", "alarmtypemapping", "intakerecord")


def _move(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    for model in MODELS:
        old = ContentType.objects.filter(app_label=source, model=model).first()
        if old is None:
            continue
        new = ContentType.objects.filter(app_label=target, model=model).first()
        if new is None:
            ContentType.objects.filter(pk=old.pk).update(app_label=target)
            continue
        taken = set(Permission.objects.filter(content_type=new).values_list("codename", flat=True))
        for perm in Permission.objects.filter(content_type=old):
            if perm.codename in taken:
                existing = Permission.objects.get(content_type=new, codename=perm.codename)
                existing.group_set.add(*perm.group_set.all())
                existing.user_set.add(*perm.user_set.all())
                perm.delete()
            else:
                Permission.objects.filter(pk=perm.pk).update(content_type=new)
        apps.get_model("admin", "LogEntry").objects.filter(content_type=old).update(content_type=new)
        old.delete()
    ContentType.objects.clear_cache()


def forwards(apps, schema_editor):
    _move(apps, "api", "intake")


def backwards(apps, schema_editor):
    _move(apps, "intake", "api")


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
