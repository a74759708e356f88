# The audit chain becomes an HMAC with a key outside the database: each row names its key.
# Existing rows keep an empty key id (plain SHA-256); the first keyed row seals them (services.audit_seal).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_actions_and_checkpoint'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditentry',
            name='key_id',
            field=models.CharField(blank=True, default='', max_length=16, verbose_name='签名密钥'),
        ),
        migrations.AddField(
            model_name='auditchainhead',
            name='last_key_id',
            field=models.CharField(blank=True, default='', max_length=16, verbose_name='最新签名密钥'),
        ),
    ]
