"""The intake models (mappings, devices, intake records) moved to the intake app (issue 15):
only the state leaves api; the tables and their rows stay (intake.0001 takes them over)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0003_mask_intake_bodies'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay as they are (db_table keeps their api_… names): only Django's
            # idea of which app owns the models changes.
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='addressmapping',
                    name='region',
                ),
                migrations.RemoveField(
                    model_name='alarmtypemapping',
                    name='category',
                ),
                migrations.RemoveField(
                    model_name='citycategorymapping',
                    name='category',
                ),
                migrations.DeleteModel(
                    name='Device',
                ),
                migrations.RemoveField(
                    model_name='intakerecord',
                    name='api_key',
                ),
                migrations.RemoveField(
                    model_name='intakerecord',
                    name='case',
                ),
                migrations.DeleteModel(
                    name='AddressMapping',
                ),
                migrations.DeleteModel(
                    name='AlarmTypeMapping',
                ),
                migrations.DeleteModel(
                    name='CityCategoryMapping',
                ),
                migrations.DeleteModel(
                    name='IntakeRecord',
                ),
            ],
        ),
    ]
