"""Drop the varchar_pattern_ops copies PostgreSQL built for `number`, `tracking_code`, `channel`
and `sla_level` (unique=True / db_index=True on a CharField). No query uses them (no LIKE 'x%'
on these columns); every insert and every SLA level change maintained them.

The unique constraints and plain indexes stay as they are, under the same names; only the model
state moves them into Meta, which builds no pattern-ops copy."""

from django.db import migrations, models

import cityops.cases.models

PATTERN_COPIES = {
    "cases_case_number_980c9551_like": "number",
    "cases_case_tracking_code_86c901a2_like": "tracking_code",
    "cases_case_channel_7d5230ef_like": "channel",
    "cases_case_sla_level_27c6c025_like": "sla_level",
}


def drop_copies(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in PATTERN_COPIES:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def restore_copies(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, column in PATTERN_COPIES.items():
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "cases_case" ("{column}" varchar_pattern_ops)')


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_next_case_number_function")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_copies, restore_copies, elidable=False)],
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="channel",
                    field=models.CharField(choices=[("city_platform", "市级12345平台"), ("hotline", "热线电话"), ("inspector", "网格员上报"), ("web", "市民网上反映"), ("open311", "Open311"), ("api", "系统接口"), ("iot", "视频/物联感知")], max_length=16, verbose_name="来源渠道"),
                ),
                migrations.AlterField(model_name="case", name="number", field=models.CharField(max_length=20, verbose_name="案件编号")),
                migrations.AlterField(
                    model_name="case",
                    name="sla_level",
                    field=models.CharField(choices=[("none", "无时限"), ("green", "正常"), ("yellow", "即将超期"), ("red", "已超期")], default="none", max_length=8, verbose_name="时限状态"),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="tracking_code",
                    field=models.CharField(default=cityops.cases.models.new_tracking_code, max_length=12, verbose_name="查询码"),
                ),
                migrations.AddIndex(model_name="case", index=models.Index(fields=["channel"], name="cases_case_channel_7d5230ef")),
                migrations.AddIndex(model_name="case", index=models.Index(fields=["sla_level"], name="cases_case_sla_level_27c6c025")),
                migrations.AddConstraint(model_name="case", constraint=models.UniqueConstraint(fields=("number",), name="cases_case_number_key")),
                migrations.AddConstraint(
                    model_name="case", constraint=models.UniqueConstraint(fields=("tracking_code",), name="cases_case_tracking_code_key")
                ),
            ],
        ),
    ]
