"""Intake records keep their request bodies masked (issue 14, finding 4): the bodies stored
before now are masked in place, as IntakeRecord.save() masks every new one; the webhook
delivery log keeps only a short excerpt of each reply (finding 3)."""

from django.db import migrations

BATCH = 500
RESPONSE_KEEP = 500


def mask_existing(apps, schema_editor):
    from cityops.intake.masking import mask_body
    from cityops.common.pii import mask_text

    IntakeRecord = apps.get_model("api", "IntakeRecord")
    last = 0
    while True:
        rows = list(IntakeRecord.objects.filter(pk__gt=last).order_by("pk")
                    .values_list("pk", "channel", "payload", "original_address")[:BATCH])
        if not rows:
            break
        for pk, channel, payload, address in rows:
            masked, masked_address = mask_body(payload or {}, channel=channel), mask_text(address or "")
            if masked != payload or masked_address != address:
                IntakeRecord.objects.filter(pk=pk).update(payload=masked, original_address=masked_address)
        last = rows[-1][0]

    WebhookDelivery = apps.get_model("api", "WebhookDelivery")
    for pk, text in WebhookDelivery.objects.exclude(last_response="").values_list("pk", "last_response").iterator():
        if len(text) > RESPONSE_KEEP:
            WebhookDelivery.objects.filter(pk=pk).update(last_response=text[:RESPONSE_KEEP])


class Migration(migrations.Migration):
    dependencies = [("api", "0002_intake_keys_webhooks")]

    operations = [migrations.RunPython(mask_existing, migrations.RunPython.noop)]
