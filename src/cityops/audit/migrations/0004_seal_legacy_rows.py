# The one-time upgrade seal: rows written before the audit chain had a key keep their plain
# SHA-256 hashes; a checkpoint signed with the key chains onto the last of them and vouches
# for all (cityops.audit.services.seal_legacy_rows). Nothing to do on an empty or keyed trail.

from django.db import migrations


def seal(apps, schema_editor):
    from cityops.audit.services import seal_legacy_rows

    seal_legacy_rows(apps.get_model("audit", "AuditEntry"), apps.get_model("audit", "AuditChainHead"))


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_hmac_key_id'),
    ]

    operations = [
        migrations.RunPython(seal, migrations.RunPython.noop),
    ]
