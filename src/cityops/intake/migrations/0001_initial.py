"""The intake models, taken over from the api app (issue 15) with their tables (`api_…`) and
rows as they are: nothing is created in the database."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('api', '0004_intake_models_moved'),
        ('cases', '0008_case_columns_database_defaults'),
        ('catalog', '0003_category_publishable'),
        ('geo', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay as they are (db_table keeps their api_… names): only Django's
            # idea of which app owns the models changes.
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Device',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.CharField(max_length=64, unique=True, verbose_name='设备编号')),
                        ('name', models.CharField(blank=True, max_length=100, verbose_name='名称')),
                        ('kind', models.CharField(choices=[('camera', '视频监控'), ('sensor', '物联传感器'), ('other', '其他')], default='camera', max_length=16, verbose_name='类型')),
                        ('lon', models.FloatField(blank=True, null=True, verbose_name='经度')),
                        ('lat', models.FloatField(blank=True, null=True, verbose_name='纬度')),
                        ('coord_system', models.CharField(choices=[('wgs84', 'WGS-84'), ('gcj02', 'GCJ-02')], default='wgs84', max_length=8, verbose_name='坐标系')),
                        ('address', models.CharField(blank=True, max_length=200, verbose_name='安装地址')),
                        ('active', models.BooleanField(default=True, help_text='停用后该设备的报警一律拒收（如故障误报）', verbose_name='启用')),
                        ('verified', models.BooleanField(default=True, help_text='未登记：首次报警时自动加入，待管理员补全', verbose_name='已登记')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='创建时间')),
                    ],
                    options={
                        'verbose_name': '感知设备',
                        'verbose_name_plural': '感知设备',
                        'db_table': 'api_device',
                        'ordering': ['code'],
                    },
                ),
                migrations.CreateModel(
                    name='AddressMapping',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('pattern', models.CharField(help_text='来件地址包含此文字即匹配，如“北关社区”“东关大街”', max_length=100, unique=True, verbose_name='地址关键字')),
                        ('lon', models.FloatField(blank=True, null=True, verbose_name='经度 (WGS-84)')),
                        ('lat', models.FloatField(blank=True, null=True, verbose_name='纬度 (WGS-84)')),
                        ('active', models.BooleanField(default=True, verbose_name='启用')),
                        ('note', models.CharField(blank=True, max_length=200, verbose_name='说明')),
                        ('region', models.ForeignKey(blank=True, help_text='不填经纬度时，取该区域内的一个代表点', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='geo.region', verbose_name='区域')),
                    ],
                    options={
                        'verbose_name': '地址映射',
                        'verbose_name_plural': '地址映射',
                        'db_table': 'api_addressmapping',
                        'ordering': ['pattern'],
                    },
                ),
                migrations.CreateModel(
                    name='AlarmTypeMapping',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event_type', models.CharField(max_length=64, unique=True, verbose_name='报警类型')),
                        ('label', models.CharField(blank=True, help_text='如“垃圾满溢”，用于生成案件描述', max_length=64, verbose_name='说明')),
                        ('urgent', models.BooleanField(default=False, verbose_name='紧急')),
                        ('active', models.BooleanField(default=True, verbose_name='启用')),
                        ('seen_count', models.PositiveIntegerField(default=0, verbose_name='未映射时收到次数')),
                        ('category', models.ForeignKey(blank=True, help_text='留空表示尚未映射：案件进入受理员待受理队列', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.category', verbose_name='本区小类')),
                    ],
                    options={
                        'verbose_name': '报警类型映射',
                        'verbose_name_plural': '报警类型映射',
                        'db_table': 'api_alarmtypemapping',
                        'ordering': ['event_type'],
                    },
                ),
                migrations.CreateModel(
                    name='CityCategoryMapping',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('city_text', models.CharField(help_text='如“城乡建设/市容环卫/垃圾清运”', max_length=200, unique=True, verbose_name='市平台分类')),
                        ('active', models.BooleanField(default=True, verbose_name='启用')),
                        ('seen_count', models.PositiveIntegerField(default=0, verbose_name='未映射时收到次数')),
                        ('last_seen_at', models.DateTimeField(blank=True, null=True, verbose_name='最近收到')),
                        ('note', models.CharField(blank=True, max_length=200, verbose_name='说明')),
                        ('category', models.ForeignKey(blank=True, help_text='留空表示尚未映射：案件进入受理员待受理队列，由人工分类', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.category', verbose_name='本区小类')),
                    ],
                    options={
                        'verbose_name': '市平台分类映射',
                        'verbose_name_plural': '市平台分类映射',
                        'db_table': 'api_citycategorymapping',
                        'ordering': ['city_text'],
                    },
                ),
                migrations.CreateModel(
                    name='IntakeRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('channel', models.CharField(max_length=16, verbose_name='渠道')),
                        ('source', models.CharField(blank=True, max_length=64, verbose_name='来源系统')),
                        ('payload', models.JSONField(blank=True, default=dict, verbose_name='原始数据')),
                        ('original_category', models.CharField(blank=True, max_length=200, verbose_name='原始分类')),
                        ('original_address', models.CharField(blank=True, max_length=200, verbose_name='原始地址')),
                        ('category_mapped', models.BooleanField(default=False, verbose_name='分类已映射')),
                        ('location_source', models.CharField(blank=True, help_text='coordinates / address_mapping / device / none', max_length=16, verbose_name='定位来源')),
                        ('media_url', models.URLField(blank=True, max_length=500, verbose_name='图片链接')),
                        ('device_code', models.CharField(blank=True, max_length=64, verbose_name='设备编号')),
                        ('event_type', models.CharField(blank=True, max_length=64, verbose_name='报警类型')),
                        ('repeat_count', models.PositiveIntegerField(default=0, verbose_name='重复报警次数')),
                        ('last_seen_at', models.DateTimeField(blank=True, null=True, verbose_name='最近报警')),
                        ('token', models.CharField(blank=True, max_length=32, null=True, unique=True, verbose_name='Open311 token')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='接收时间')),
                        ('api_key', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='api.apikey', verbose_name='API 密钥')),
                        ('case', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='intake_record', to='cases.case', verbose_name='案件')),
                    ],
                    options={
                        'verbose_name': '接入记录',
                        'verbose_name_plural': '接入记录',
                        'db_table': 'api_intakerecord',
                        'ordering': ['-created_at'],
                        'indexes': [models.Index(fields=['device_code', 'event_type', 'last_seen_at'], name='intake_alarm_dedupe')],
                    },
                ),
            ],
        ),
    ]
